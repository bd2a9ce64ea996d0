#!/usr/bin/env bash
# Benchmark `hark sanitize` against npm har-cleaner and PyPI har-capture.
#
#   bench/sanitize.sh [BIG_MB] [SLICE_MB]     (defaults 1024 and 100)
#
# Makes a BIG_MB HAR of real entries with bench/gen-har.py and a SLICE_MB one from the
# same entries; runs hark on both and the peers on the slice (har-cleaner with its
# defaults, har-capture `sanitize --no-salt --patterns base --max-size 0`), each under
# /usr/bin/time -v; prints throughput (input MB / wall second), peak RSS and ratios.
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

results="$dir/results.tsv"
: >"$results"
# measure NAME INPUT CMD...
measure() {
  local name=$1 input=$2
  shift 2
  local log="$dir/time-$name.log"
  /usr/bin/time -v "$@" >"$dir/out-$name.stdout" 2>"$log" || {
    echo "$name failed:" >&2
    tail -5 "$log" >&2
    return 1
  }
  local wall rss mb
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log" |
    awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
  mb=$(python3 -c "import os; print(os.path.getsize('$input') / 1e6)")
  printf '%s\t%s\t%s\t%s\n' "$name" "$mb" "$wall" "$rss" | tee -a "$results" >&2
}

measure hark-big "$big" "$hark" sanitize -q "$big" -o "$dir/big.sanitized.har"
measure hark-big-j1 "$big" "$hark" sanitize -q -j1 "$big" -o "$dir/big.sanitized.har"
measure hark-slice "$slice" "$hark" sanitize -q "$slice" -o "$dir/slice.hark.har"
measure har-cleaner "$slice" node --max-old-space-size=8192 "$cleaner" \
  "$here/node/node_modules/har-cleaner" "$slice" "$dir/slice.har-cleaner.har"
measure har-capture "$slice" har-capture sanitize "$slice" --no-salt --patterns base \
  --max-size 0 --output "$dir/slice.har-capture.har"

python3 - "$results" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    name, mb, wall, rss = line.split("\t")
    rows[name] = (float(mb), float(wall), int(rss) / 1024)
print(f"{'tool':<14}{'input':>10}{'wall s':>10}{'MB/s':>10}{'peak RSS MB':>14}")
for name, (mb, wall, rss) in rows.items():
    print(f"{name:<14}{mb:>9.0f}M{wall:>10.2f}{mb / wall:>10.1f}{rss:>14.1f}")
h = rows["hark-slice"]
if "hark-big-j1" in rows:
    b = rows["hark-big-j1"]
    print(f"hark -j1 on {b[0]:.0f} MB: {b[0] / b[1]:.1f} MB/s, peak RSS {b[2]:.1f} MB")
for peer in ("har-cleaner", "har-capture"):
    if peer in rows:
        p = rows[peer]
        print(f"hark vs {peer} (same {h[0]:.0f} MB slice): {(h[0] / h[1]) / (p[0] / p[1]):.1f}x throughput")
if "hark-big" in rows:
    b = rows["hark-big"]
    print(f"hark on {b[0]:.0f} MB: {b[0] / b[1]:.1f} MB/s, peak RSS {b[2]:.1f} MB")
PY
