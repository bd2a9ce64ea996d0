#!/usr/bin/env bash
# Benchmark `hark sanitize` against npm har-cleaner and PyPI har-capture.
#
#   bench/sanitize.sh [BIG_MB] [SLICE_MB]     (defaults 1024 and 100)
#
# Makes a BIG_MB HAR of real entries with bench/gen-har.py and a SLICE_MB one from the
# same entries; runs hark on both and the peers on the slice (har-cleaner with its
# defaults, har-capture `sanitize --no-salt --patterns base --max-size 0`), each under
# /usr/bin/time -v, hark HARK_RUNS times (default 3) and the peers PEER_RUNS times
# (default 1); prints the best wall time and throughput (input MB / wall second), the
# least CPU time (user + sys), the highest peak RSS, and ratios.
# The same again on a secret-dense HAR (bench/gen-secrets.py: testdata's login recordings,
# every entry with cookies, a bearer JWT and an API key, each copy its own values), BIG_MB
# and a SLICE_MB slice of the same generator, hark on both and har-cleaner on the slice;
# the planted values left in each output are counted (plain, URL-encoded, base64).
# Then a HAR of TOKENS (default 100000) distinct secrets (bench/gen-tokens.py: each entry
# its own bearer token and session id, as in long captures with rotating tokens), for
# hark's peak RSS with that many values known; ONLY_TOKENS=1 runs that part alone.
# Files go to ${BENCH_DIR:-/tmp/hark-bench}. Peers are installed if missing:
# `npm install --prefix bench/node har-cleaner`, `pip install 'har-capture[cli]'`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
big_mb=${1:-1024}
slice_mb=${2:-100}
dir=${BENCH_DIR:-/tmp/hark-bench}
mkdir -p "$dir"

cargo build --release -p hark-cli --manifest-path "$root/Cargo.toml" >&2
target=$(cargo metadata --format-version 1 --no-deps --manifest-path "$root/Cargo.toml" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
hark="$target/release/hark"

[ -d "$here/node/node_modules/har-cleaner" ] || npm install --prefix "$here/node" har-cleaner >&2
command -v har-capture >/dev/null && har-capture sanitize --help >/dev/null 2>&1 ||
  pip install 'har-capture[cli]' >&2

big="$dir/big-${big_mb}.har"
slice="$dir/slice-${slice_mb}.har"
[ -s "$big" ] || python3 "$here/gen-har.py" "$big" "$big_mb"
[ -s "$slice" ] || python3 "$here/gen-har.py" "$slice" "$slice_mb"
dense="$dir/secrets-${big_mb}.har"
dense_slice="$dir/secrets-${slice_mb}.har"
[ -s "$dense.planted" ] || python3 "$here/gen-secrets.py" "$dense" "$big_mb"
[ -s "$dense_slice.planted" ] || python3 "$here/gen-secrets.py" "$dense_slice" "$slice_mb"

cleaner="$dir/har-cleaner-run.cjs"
cat >"$cleaner" <<'JS'
const fs = require('fs');
const { sanitizeHar } = require(process.argv[2]);
const har = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
// har-cleaner throws on entries without these arrays (real files have such entries).
for (const e of har.log.entries) {
  for (const side of [e.request, e.response]) {
    side.headers ||= []; side.cookies ||= [];
  }
  e.request.queryString ||= [];
  e.response.content ||= {};
  e.response.content.mimeType ??= '';
}
fs.writeFileSync(process.argv[4], JSON.stringify(sanitizeHar(har), null, 2));
JS

hark_runs=${HARK_RUNS:-3}
peer_runs=${PEER_RUNS:-1}
results="$dir/results.tsv"
: >"$results"
# measure NAME INPUT RUNS CMD...: one line per run (name, MB, wall s, cpu s, RSS KB).
measure() {
  local name=$1 input=$2 runs=$3
  shift 3
  local log="$dir/time-$name.log" i wall cpu rss mb
  mb=$(python3 -c "import os; print(os.path.getsize('$input') / 1e6)")
  for ((i = 0; i < runs; i++)); do
    /usr/bin/time -v "$@" >"$dir/out-$name.stdout" 2>"$log" || {
      echo "$name failed:" >&2
      tail -5 "$log" >&2
      return 1
    }
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log" |
      awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
    cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$log")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$mb" "$wall" "$cpu" "$rss" | tee -a "$results" >&2
  done
}

tokens=${TOKENS:-100000}
tokens_har="$dir/tokens-${tokens}.har"
[ -s "$tokens_har" ] || python3 "$here/gen-tokens.py" "$tokens_har" "$tokens"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
measure hark-tokens "$tokens_har" 1 "$hark" sanitize -q "$tokens_har" -o "$dir/tokens.sanitized.har"
left=$(grep -c 'tk_\|"session=s' "$dir/tokens.sanitized.har" || true)
awk -F'\t' -v n="$tokens" -v left="$left" '$1 == "hark-tokens" {
  printf "hark on %d distinct tokens (%.0f MB): %.2f s wall, peak RSS %.1f MB, lines with a token left: %d\n", n, $2, $3, $5 / 1024, left }' \
  "$results"
[ "${ONLY_TOKENS:-0}" = 1 ] && exit 0
measure hark-big "$big" "$hark_runs" "$hark" sanitize -q "$big" -o "$dir/big.sanitized.har"
measure hark-big-j1 "$big" "$hark_runs" "$hark" sanitize -q -j1 "$big" -o "$dir/big.sanitized.har"
measure hark-slice "$slice" "$hark_runs" "$hark" sanitize -q "$slice" -o "$dir/slice.hark.har"
measure har-cleaner "$slice" "$peer_runs" node --max-old-space-size=8192 "$cleaner" \
  "$here/node/node_modules/har-cleaner" "$slice" "$dir/slice.har-cleaner.har"
measure har-capture "$slice" "$peer_runs" har-capture sanitize "$slice" --no-salt \
  --patterns base --max-size 0 --output "$dir/slice.har-capture.har"
measure hark-dense "$dense" "$hark_runs" "$hark" sanitize -q "$dense" -o "$dir/dense.sanitized.har"
measure hark-dense-slice "$dense_slice" "$hark_runs" "$hark" sanitize -q "$dense_slice" \
  -o "$dir/dense-slice.hark.har"
measure cleaner-dense "$dense_slice" "$peer_runs" node --max-old-space-size=8192 "$cleaner" \
  "$here/node/node_modules/har-cleaner" "$dense_slice" "$dir/dense-slice.har-cleaner.har"
# Planted values left: every occurrence of a string of the .planted list (the fixed part
# of each varied value, each kept value; plain, URL-encoded, base64 both ways).
left() {
  cut -f2 "$1" | grep -F -o -f - "$2" | sort | uniq -c | sort -rn >"$2.left" || true
  awk '{ n += $1 } END { print n + 0 }' "$2.left"
}
planted_left=$(left "$dense.planted" "$dir/dense.sanitized.har")
planted_left_slice=$(left "$dense_slice.planted" "$dir/dense-slice.hark.har")
planted_left_cleaner=$(left "$dense_slice.planted" "$dir/dense-slice.har-cleaner.har")

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "commit $(git -C "$root" rev-parse --short HEAD), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores"
echo "files: $big ($(du -m "$big" | cut -f1) MB), $slice, $dense ($(grep -c '"startedDateTime"' "$dense") entries), $dense_slice"
python3 - "$results" "$planted_left" "$planted_left_slice" "$planted_left_cleaner" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    name, mb, wall, cpu, rss = line.split("\t")
    mb, wall, cpu, rss = float(mb), float(wall), float(cpu), int(rss) / 1024
    if name in rows:
        _, w, c, r, n = rows[name]
        rows[name] = (mb, min(w, wall), min(c, cpu), max(r, rss), n + 1)
    else:
        rows[name] = (mb, wall, cpu, rss, 1)
print(f"{'tool':<18}{'input':>10}{'runs':>6}{'wall s':>10}{'MB/s':>10}{'cpu s':>10}{'peak RSS MB':>14}")
for name, (mb, wall, cpu, rss, n) in rows.items():
    if name == "hark-tokens":
        continue
    print(f"{name:<18}{mb:>9.0f}M{n:>6}{wall:>10.2f}{mb / wall:>10.1f}{cpu:>10.2f}{rss:>14.1f}")
h = rows["hark-slice"]
if "hark-big-j1" in rows:
    b = rows["hark-big-j1"]
    print(f"hark -j1 on {b[0]:.0f} MB: {b[0] / b[1]:.1f} MB/s, {b[2]:.2f} cpu s, peak RSS {b[3]:.1f} MB")
for peer in ("har-cleaner", "har-capture"):
    if peer in rows:
        p = rows[peer]
        print(f"hark vs {peer} (same {h[0]:.0f} MB slice): {(h[0] / h[1]) / (p[0] / p[1]):.1f}x throughput, "
              f"{p[2] / h[2]:.1f}x less CPU")
if "hark-big" in rows:
    b = rows["hark-big"]
    print(f"hark on {b[0]:.0f} MB: {b[0] / b[1]:.1f} MB/s, {b[2]:.2f} cpu s, peak RSS {b[3]:.1f} MB")
if "hark-dense-slice" in rows and "cleaner-dense" in rows:
    h, p = rows["hark-dense-slice"], rows["cleaner-dense"]
    print(f"secret-dense: hark vs har-cleaner (same {h[0]:.0f} MB slice): {(h[0] / h[1]) / (p[0] / p[1]):.1f}x throughput, "
          f"{p[2] / h[2]:.1f}x less CPU")
if "hark-dense" in rows:
    b = rows["hark-dense"]
    print(f"secret-dense: hark on {b[0]:.0f} MB: {b[0] / b[1]:.1f} MB/s, {b[2]:.2f} cpu s, peak RSS {b[3]:.1f} MB")
print(f"planted values left: hark {sys.argv[2]} on the big secret-dense file, {sys.argv[3]} on its slice; "
      f"har-cleaner {sys.argv[4]} on the slice")
PY

# The floor: what issue #17's targets (8x har-cleaner on the bench slice, 5x on the
# secret-dense slice) leave, against the least work we can name, measured on the same
# files in this run (bench/floor.sh, one core): the file read twice (the second pass
# replaces copies of values found later), parsed once at simd-json's speed, written once
# (`hark fmt --compact -j1`: read, tokenize, write), and the detectors run once over each
# distinct string (a tool that remembers what it looked at need not look again); and,
# apart, finding every copy of the detectors' values (as written, URL-encoded, base64)
# with one Aho-Corasick automaton over the file, which finding "every copy" needs.
bash "$here/floor.sh" "$slice" 3 > "$dir/floor.json"
bash "$here/floor.sh" "$dense_slice" 3 > "$dir/floor-dense.json"
python3 - "$results" "$dir/floor.json" "$dir/floor-dense.json" <<'PY'
import json, sys
wall, cpu = {}, {}
for line in open(sys.argv[1]):
    name, mb, w, c, rss = line.split("\t")
    wall[name] = min(float(w), wall.get(name, 1e9))
    cpu[name] = min(float(c), cpu.get(name, 1e9))
for path, hark, peer, x, what in ((sys.argv[2], "hark-slice", "har-cleaner", 8, "bench slice"),
                                   (sys.argv[3], "hark-dense-slice", "cleaner-dense", 5, "secret-dense slice")):
    f = json.load(open(path))
    print(f"\nFloor on the {f['mb']:.0f} MB {what} (bench/floor.sh, one core, best of {f['runs']}): reading {f['read_ms']:.0f} ms, "
          f"simd-json tape {f['simd_json_tape_ms']:.0f} ms, sonic-rs fields {f['sonic_fields_ms']:.0f} ms, serde_json {f['serde_json_ms']:.0f} ms, "
          f"hark fmt --compact -j1 {f['hark_fmt_compact_j1_ms']:.0f} ms, hark's detectors over every string of 6 bytes or more "
          f"{f['hark_detectors_ms']:.0f} ms, over each of the {f['distinct_pieces']} distinct ones once {f['hark_detectors_distinct_ms']:.0f} ms, "
          f"every copy of their {f['copy_patterns']} values' forms found with Aho-Corasick {f['copies_ms']:.0f} ms")
    if peer not in wall or hark not in wall:
        continue
    budget = wall[peer] / x * 1000
    least = f["read_ms"] + f["simd_json_tape_ms"] + f["hark_fmt_compact_j1_ms"] + f["hark_detectors_distinct_ms"]
    print(f"- {x}x har-cleaner's {wall[peer]:.2f} s leaves {budget:.0f} ms of wall time, {2 * budget:.0f} ms of CPU on 2 cores; "
          f"the least work ({least:.0f} ms) leaves {2 * budget - least:.0f} ms of CPU for everything else (the values' patterns "
          f"and numbers, finding every copy, rendering, the threads' overhead); hark took {wall[hark] * 1000:.0f} ms "
          f"({wall[hark] * 1000 / budget:.1f}x the budget) and {cpu[hark] * 1000:.0f} ms of CPU; with the copies found "
          f"as well ({least + f['copies_ms']:.0f} ms), {2 * budget - least - f['copies_ms']:.0f} ms are left")
PY
