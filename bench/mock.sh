#!/usr/bin/env bash
# `hark mock` throughput and memory: a generated HAR of N entries (default 100,000:
# GET /api/items/{i}, a ~300-byte JSON answer each), wrk on loopback asking for
# random entries (2 threads, 64 connections, 10 s), peak RSS of the mock.
#
#   bench/mock.sh [ENTRIES] [SECONDS]       # HARK=path/to/hark to skip the release build
#
# Needs: wrk (apt-get install wrk), python3.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/lib.sh"
n=${1:-100000}
secs=${2:-10}
setup_load wrk python3
har="$work/mock-$n.har"
python3 - "$har" "$n" <<'PY'
import json, sys
out, n = sys.argv[1], int(sys.argv[2])
with open(out, "w") as f:
    f.write('{"log": {"version": "1.2", "creator": {"name": "bench/mock.sh", "version": "1"}, "entries": [\n')
    for i in range(n):
        body = json.dumps({"id": i, "name": f"item {i}", "price": i % 997, "tags": ["a", "b", "c"],
                           "description": "x" * 200})
        e = {"startedDateTime": "2026-01-01T00:00:00.000Z", "time": 1.5,
             "request": {"method": "GET", "url": f"http://api.example.test/api/items/{i}?v=1",
                         "httpVersion": "HTTP/1.1", "cookies": [], "headers": [{"name": "Accept", "value": "application/json"}],
                         "queryString": [{"name": "v", "value": "1"}], "headersSize": -1, "bodySize": 0},
             "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "cookies": [],
                          "headers": [{"name": "Content-Type", "value": "application/json"},
                                      {"name": "Content-Length", "value": str(len(body))}],
                          "content": {"size": len(body), "mimeType": "application/json", "text": body},
                          "redirectURL": "", "headersSize": -1, "bodySize": len(body)},
             "cache": {}, "timings": {"send": 0.1, "wait": 1.2, "receive": 0.2}}
        f.write(("," if i else "") + json.dumps(e) + "\n")
    f.write("]}}\n")
PY
port=$(free_port)
start=$(date +%s.%N)
"$hark" mock "$har" --listen "127.0.0.1:$port" --ca-dir "$work/ca" > "$work/mock.out" &
pids+=($!)
mpid=$!
wait_port "$port"
loaded=$(python3 -c "import time; print(round(time.time() - $start, 2))")
cat > "$work/random.lua" <<LUA
math.randomseed(42)
request = function()
  return wrk.format("GET", "/api/items/" .. math.random(0, $n - 1) .. "?v=1")
end
LUA
wrk -t2 -c64 -d"${secs}s" -s "$work/random.lua" "http://127.0.0.1:$port" | tee "$work/wrk.txt"
rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
peak=$(hwm "$mpid")
kill -TERM "$mpid"; wait "$mpid" 2>/dev/null || true
misses=$(grep -o '[0-9]* misses' "$work/mock.out" | head -1)
echo
echo "| entries | HAR (MB) | load (s) | req/s | peak RSS (MB) | misses |"
echo "|---:|---:|---:|---:|---:|---|"
echo "| $n | $(( $(stat -c %s "$har") / 1048576 )) | $loaded | $rps | $(( peak / 1024 )) | $misses |"
