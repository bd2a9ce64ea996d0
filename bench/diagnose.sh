#!/usr/bin/env bash
# `hark summary` and `hark diagnose` against Python's haralyzer (PyPI) computing the same
# counts (status classes, types, domains, methods, bytes, the 10 slowest), in one run.
#
#   bench/diagnose.sh [BIG_MB] [SLICE_MB]      (defaults 1024 and 100; HARs kept in bench/out/)
#   HARK_RUNS=3 PEER_RUNS=2 bench/diagnose.sh     (repeats; the best run of each is shown)
#
# Timings, outputs and the haralyzer script go to a private mktemp directory (removed on
# exit), so other bench scripts writing bench/out/ at the same time do not interfere.
# "CPU s" is user + system time: on a shared machine it varies less than wall time.
#
# haralyzer loads the whole file into memory (json.load + an object per entry), so it
# runs on the slice only; hark runs on the slice (for the ratio) and on the big file.
# Needs: python3 (pip installs haralyzer if missing), GNU time. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
big=${1:-1024}
slice=${2:-100}
runs=${HARK_RUNS:-3}
peer_runs=${PEER_RUNS:-2}
mkdir -p bench/out
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hark-diagnose-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
[ -x /usr/bin/time ] || { echo "GNU time is needed (apt-get install time)" >&2; exit 2; }
python3 -c 'import haralyzer' 2>/dev/null || pip install -q haralyzer
for s in "$slice" "$big"; do
  f=bench/out/diagnose-${s}m.har
  [ -f "$f" ] || python3 bench/gen-har.py "$f" "$s"
done
cargo build --release -q -p hark-cli
hark=target/release/hark
small=bench/out/diagnose-${slice}m.har
large=bench/out/diagnose-${big}m.har

cat > $tmp/haralyzer_counts.py <<'PY'
"""The counts `hark summary` gives, computed with haralyzer."""
import heapq, json, sys
from collections import Counter
from urllib.parse import urlsplit
from haralyzer import HarParser, HarEntry

def safe(get, default):
    # haralyzer raises KeyError on real entries that lack a field (e.g. mitmproxy's
    # content without mimeType); count those the way hark does.
    try:
        return get()
    except (KeyError, TypeError, ValueError):
        return default

with open(sys.argv[1], encoding="utf-8-sig") as f:
    parser = HarParser(json.load(f))
status, types, domains, methods = Counter(), Counter(), Counter(), Counter()
transferred = decoded = 0
slowest = []
for raw in parser.har_data["entries"]:
    e = HarEntry(raw)
    s = e.response.status
    status["failed" if s <= 0 else f"{s // 100}xx"] += 1
    mime = (safe(lambda: e.response.mimeType, "") or "").lower()
    types[raw.get("_resourceType") or mime.split(";")[0] or "other"] += 1
    domains[urlsplit(e.url).hostname or "(no host)"] += 1
    methods[e.request.method] += 1
    transferred += max(raw["response"].get("_transferSize", safe(lambda: e.response.bodySize, 0)) or 0, 0)
    decoded += max(safe(lambda: e.response.contentSize, 0) or 0, 0)
    heapq.heappush(slowest, (safe(lambda: e.time, 0) or 0, e.url))
    if len(slowest) > 10:
        heapq.heappop(slowest)
print(json.dumps({"entries": sum(status.values()), "status": status, "types": len(types),
                  "domains": len(domains), "methods": methods, "transferred": transferred,
                  "decoded": decoded, "slowest": sorted(slowest, reverse=True)[:3]}))
PY

cat "$small" "$large" > /dev/null   # warm the page cache
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
run() { # n, name, file, command... (one line per run: wall, CPU, RSS)
  local n=$1 name=$2 file=$3; shift 3
  for _ in $(seq "$n"); do
    /usr/bin/time -f "%e %U %S %M" -o "$tmp/time.txt" "$@" > "$tmp/last.out" 2>"$tmp/stderr.txt" || {
      local rc=$?; [ $rc -le 1 ] || { cat "$tmp/stderr.txt" >&2; exit $rc; }
    }
    read -r secs user sys kb < <(tail -n 1 "$tmp/time.txt")
    echo "$name|$(stat -L -c %s "$file")|$secs|$user|$sys|$kb"
  done
}

{
  run "$peer_runs" "python3 haralyzer (counts)" "$small" python3 "$tmp/haralyzer_counts.py" "$small"
  cp "$tmp/last.out" "$tmp/haralyzer.json"
  run "$runs" "hark summary" "$small" $hark -q summary --json "$small"
  cp "$tmp/last.out" "$tmp/summary-small.json"
  run "$runs" "hark diagnose" "$small" $hark -q diagnose --json "$small"
  run "$runs" "hark summary" "$large" $hark -q summary --json "$large"
  run "$runs" "hark diagnose" "$large" $hark -q diagnose --json "$large"
  echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
} | tee "$tmp/runs.txt" | TMPD="$tmp" python3 -c '
import json, os, sys
t = os.environ["TMPD"]
runs = [l.split("|") for l in sys.stdin.read().splitlines()]
for r in runs:
    print("run:", *r, file=sys.stderr)
# Best (least CPU) run of each command and input; wall and RSS of that run.
best = {}
for name, size, secs, user, sys_, kb in runs:
    cpu = float(user) + float(sys_)
    k = (name, size)
    if k not in best or cpu < best[k][1]:
        best[k] = (float(secs), cpu, int(kb))
rows = [(n, s) + v for (n, s), v in best.items()]
h = json.load(open(t + "/haralyzer.json")); s = json.load(open(t + "/summary-small.json"))
same = h["entries"] == s["entries"] and all(h["status"].get(c["key"], 0) == c["requests"] for c in s["status"])
n = h["entries"]
print(f"Same counts (entries, status classes) from haralyzer and hark: {same} ({n} entries)\n")
print(f"Best of {len(runs)} runs in all (least CPU time per command and input).\n")
print("| command | input | wall (s) | CPU (s) | MB/s (wall) | MB/CPU-s | × haralyzer (CPU) | peak RSS (MB) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
base = None
for name, size, secs, cpu, kb in rows:
    mb = int(size) / 1e6; rate = mb / secs; crate = mb / cpu
    base = base or crate
    print(f"| `{name}` | {mb:.0f} MB | {secs:.2f} | {cpu:.2f} | {rate:.0f} | {crate:.0f} | {crate / base:.1f} | {kb / 1024:.0f} |")
'

# The floor: what the 50x target leaves for the slice, against the fastest JSON parsers
# measured on the same file in this run (bench/floor.sh).
bash bench/floor.sh "$small" 3 > "$tmp/floor.json"
python3 - "$tmp/runs.txt" "$tmp/floor.json" <<'PY'
import json, sys
runs = [l.split("|") for l in open(sys.argv[1]).read().splitlines()]
f = json.load(open(sys.argv[2]))
peer = min(float(r[2]) for r in runs if r[0].startswith("python3 haralyzer"))
hark = min(float(r[2]) for r in runs if r[0] == "hark summary" and int(r[1]) == min(int(x[1]) for x in runs))
budget = peer / 50 * 1000
print(f"\nFloor on the {f['mb']:.0f} MB slice (bench/floor.sh, one core, best of {f['runs']}):")
print(f"- 50x haralyzer's {peer:.2f} s leaves {budget:.0f} ms of wall time; hark summary took {hark * 1000:.0f} ms ({peer / hark:.1f}x).")
print(f"- reading the file: {f['read_ms']:.0f} ms; one memchr pass over it in memory: {f['memchr_ms']:.0f} ms")
print(f"- simd-json tape (no tree): {f['simd_json_tape_ms']:.0f} ms; sonic-rs pulling the summary's fields: {f['sonic_fields_ms']:.0f} ms; "
      f"serde_json Value: {f['serde_json_ms']:.0f} ms; hark fmt --compact -j1 (whole command): {f['hark_fmt_compact_j1_ms']:.0f} ms")
best = f["fastest_pass_ms"]
print(f"- the fastest pass alone ({f['fastest_pass']}), split perfectly over 2 cores, needs {best / 2:.0f} ms: {best / 2 / budget:.1f}x the whole budget")
PY
