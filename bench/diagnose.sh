#!/usr/bin/env bash
# `hark summary` and `hark diagnose` against Python's haralyzer (PyPI) computing the same
# counts (status classes, types, domains, methods, bytes, the 10 slowest), in one run.
#
#   bench/diagnose.sh [BIG_MB] [SLICE_MB]      (defaults 1024 and 100; files kept in bench/out/)
#
# haralyzer loads the whole file into memory (json.load + an object per entry), so it
# runs on the slice only; hark runs on the slice (for the ratio) and on the big file.
# Needs: python3 (pip installs haralyzer if missing), GNU time. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
big=${1:-1024}
slice=${2:-100}
mkdir -p bench/out
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

cat > bench/out/haralyzer_counts.py <<'PY'
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
run() { # name, file, command...
  local name=$1 file=$2; shift 2
  /usr/bin/time -f "%e %M" -o bench/out/time.txt "$@" > bench/out/last.out 2>bench/out/stderr.txt || {
    local rc=$?; [ $rc -le 1 ] || { cat bench/out/stderr.txt >&2; exit $rc; }
  }
  read -r secs kb < <(tail -n 1 bench/out/time.txt)
  echo "$name|$(stat -c %s "$file")|$secs|$kb"
}

{
  run "python3 haralyzer (counts)" "$small" python3 bench/out/haralyzer_counts.py "$small"
  cp bench/out/last.out bench/out/haralyzer.json
  run "hark summary" "$small" $hark -q summary --json "$small"
  cp bench/out/last.out bench/out/summary-small.json
  run "hark diagnose" "$small" $hark -q diagnose --json "$small"
  run "hark summary" "$large" $hark -q summary --json "$large"
  run "hark diagnose" "$large" $hark -q diagnose --json "$large"
} | python3 -c '
import json, sys
rows = [l.split("|") for l in sys.stdin.read().splitlines()]
h = json.load(open("bench/out/haralyzer.json")); s = json.load(open("bench/out/summary-small.json"))
same = h["entries"] == s["entries"] and all(h["status"].get(c["key"], 0) == c["requests"] for c in s["status"])
n = h["entries"]
print(f"Same counts (entries, status classes) from haralyzer and hark: {same} ({n} entries)\n")
print("| command | input | time (s) | MB/s | × haralyzer | peak RSS (MB) |")
print("|---|---:|---:|---:|---:|---:|")
base = None
for name, size, secs, kb in rows:
    mb = int(size) / 1e6; secs = float(secs); rate = mb / secs
    base = base or rate
    print(f"| `{name}` | {mb:.0f} MB | {secs:.2f} | {rate:.0f} | {rate / base:.0f} | {int(kb) / 1024:.0f} |")
'
