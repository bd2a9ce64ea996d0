#!/usr/bin/env bash
# Recording proxy throughput, latency and memory, in one run: wrk (Debian) against a local
# nginx serving a small static file, (1) direct, (2) through `hark record`, (3) through
# `mitmdump --set hardump=...` (mitmproxy's own HAR export). Then a long run of REQUESTS
# requests through hark with its RSS sampled, to show memory stays flat.
#
#   bench/record.sh                     # 10 s per run, 1M requests for the memory run
#   DURATION=5 REQUESTS=200000 bench/record.sh
#   HARK=path/to/hark bench/record.sh   # skip the build
#
# Needs: wrk, nginx (apt), mitmdump (pip install mitmproxy). Everything on 127.0.0.1.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-10}
REQUESTS=${REQUESTS:-1000000}
CONNS=${CONNS:-50}
. "$root/bench/lib.sh"
setup_load wrk nginx mitmdump

start_nginx

# wrk through a forward proxy: absolute-form request lines, Host of the origin.
cat > "$work/proxy.lua" <<EOF
wrk.headers["Host"] = "127.0.0.1:$nport"
request = function() return wrk.format("GET", "$target") end
EOF

run_wrk() { # name url [script] -> wrk output in $work/$name.txt, then the same with one connection
  local name=$1 url=$2; shift 2
  wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$@" "$url" > "$work/$name.txt"
  # Latency without queueing: one connection, one request at a time.
  wrk -t1 -c1 -d"$(( DURATION < 5 ? DURATION : 5 ))s" --latency "$@" "$url" > "$work/$name-c1.txt"
}
rps() { awk '/Requests\/sec/ {print $2}' "$work/$1.txt"; }
pct() { awk -v p="$2%" '$1 == p {print $2}' "$work/$1.txt"; }
total() { awk '/requests in/ {print $1}' "$work/$1.txt"; }
errors() { grep -E 'Non-2xx|Socket errors' "$work/$1.txt" | tr '\n' ' ' || true; }

echo "== direct"
run_wrk direct "$target"

echo "== hark record"
hport=$(free_port)
"$hark" record --listen "127.0.0.1:$hport" -o "$work/hark.har" --ca-dir "$work/ca" 2> "$work/hark.log" & hpid=$!; pids+=($hpid)
wait_port "$hport"
run_wrk hark "http://127.0.0.1:$hport" -s "$work/proxy.lua"
hark_hwm=$(hwm $hpid)
t0=$(date +%s.%N)
kill -TERM $hpid; wait $hpid || true
t1=$(date +%s.%N)
hark_entries=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['log']['entries']))" "$work/hark.har")

echo "== mitmdump --set hardump"
mport=$(free_port)
mitmdump -q --listen-host 127.0.0.1 --listen-port "$mport" --set hardump="$work/mitm.har" \
  --set confdir="$work/mitmconf" > "$work/mitm.log" 2>&1 & mpid=$!; pids+=($mpid)
wait_port "$mport"
run_wrk mitm "http://127.0.0.1:$mport" -s "$work/proxy.lua"
mitm_hwm=$(hwm $mpid)
kill -INT $mpid; wait $mpid || true
mitm_entries=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['log']['entries']))" "$work/mitm.har" 2>/dev/null || echo "?")

echo "== memory over $REQUESTS requests through hark record"
rm -f "$work/hark.har"
hport=$(free_port)
"$hark" record --listen "127.0.0.1:$hport" -o "$work/long.har" --ca-dir "$work/ca" 2> "$work/long.log" & lpid=$!; pids+=($lpid)
wait_port "$hport"
( while kill -0 $lpid 2>/dev/null; do echo "$(date +%s) $(rss $lpid)"; sleep 2; done ) > "$work/rss.txt" 2>/dev/null &
# wrk stops by time, not by count: run it in chunks until REQUESTS have been answered.
long_total=0; chunks=0
while [ "$long_total" -lt "$REQUESTS" ]; do
  wrk -t1 -c"$CONNS" -d20s -s "$work/proxy.lua" "http://127.0.0.1:$hport" > "$work/long.txt"
  long_total=$((long_total + $(total long))); chunks=$((chunks + 1))
done
capture_samples=$(wc -l < "$work/rss.txt")
long_hwm=$(hwm $lpid)
journal_bytes=$(stat -c %s "$work/long.har.journal")
t2=$(date +%s.%N)
kill -TERM $lpid; wait $lpid || true
t3=$(date +%s.%N)
har_bytes=$(stat -c %s "$work/long.har")

echo
echo "| run | requests/s | p50 | p90 | p99 | peak RSS | requests | HAR entries (both runs) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
echo "| direct (wrk → nginx) | $(rps direct) | $(pct direct 50) | $(pct direct 90) | $(pct direct 99) | | $(total direct) | |"
echo "| hark record | $(rps hark) | $(pct hark 50) | $(pct hark 90) | $(pct hark 99) | $((hark_hwm / 1024)) MB | $(total hark) | $hark_entries |"
echo "| mitmdump --set hardump | $(rps mitm) | $(pct mitm 50) | $(pct mitm 90) | $(pct mitm 99) | $((mitm_hwm / 1024)) MB | $(total mitm) | $mitm_entries |"
echo
echo "one connection (no queueing):"
echo "| run | requests/s | p50 | p90 | p99 |"
echo "|---|---:|---:|---:|---:|"
for r in direct hark mitm; do
  echo "| $r | $(rps $r-c1) | $(pct $r-c1 50) | $(pct $r-c1 90) | $(pct $r-c1 99) |"
done
echo
for r in direct hark mitm; do e=$(errors $r); [ -n "$e" ] && echo "$r: $e"; done
[ -z "$(errors direct)$(errors hark)$(errors mitm)" ] && echo "no errors, every response 2xx"
python3 - "$work" "$CONNS" <<'EOF'
import re, sys
w = sys.argv[1]
def rps(n): return float(re.search(r"Requests/sec:\s+([\d.]+)", open(f"{w}/{n}.txt").read()).group(1))
def p50(n):
    v = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)", open(f"{w}/{n}.txt").read(), re.M)
    return float(v.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[v.group(2)]
print(f"hark / mitmdump throughput: {rps('hark') / rps('mitm'):.1f}x")
print(f"median added latency, {sys.argv[2]} connections: hark {p50('hark') - p50('direct'):.3f} ms, mitmdump {p50('mitm') - p50('direct'):.3f} ms")
print(f"median added latency, 1 connection: hark {p50('hark-c1') - p50('direct-c1'):.3f} ms, mitmdump {p50('mitm-c1') - p50('direct-c1'):.3f} ms")
EOF
echo "finalising the HAR after the ${DURATION}s run: $(python3 -c "print(f'{$t1 - $t0:.2f}')") s"
echo
echo "long run: $long_total requests ($chunks wrk runs of 20 s), peak RSS $((long_hwm / 1024)) MB, journal $((journal_bytes / 1048576)) MB,"
echo "  HAR $((har_bytes / 1048576)) MB written in $(python3 -c "print(f'{$t3 - $t2:.1f}')") s after the stop."
echo "  RSS (MB) every 2 s while recording:"
head -n "$capture_samples" "$work/rss.txt" | awk '{printf "%d ", $2/1024} END {print ""}'
echo "  and while writing the HAR:"
tail -n +"$((capture_samples + 1))" "$work/rss.txt" | awk '{printf "%d ", $2/1024} END {print ""}'
echo "wrk $(wrk --version 2>&1 | head -1 | awk '{print $2}'), nginx $(nginx -v 2>&1 | sed 's/.*\///'), $(mitmdump --version | head -1)"
