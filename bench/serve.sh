#!/usr/bin/env bash
# hark serve under load, in one run: JOBS jobs at once, each driven by its own wrk through
# its own proxy against a local nginx (a 612-byte file); the same JOBS wrk straight to
# nginx as the baseline. Total requests/s, p99 latency (median and worst over the jobs),
# peak RSS of hark serve, and a check that every request is in its own job. Then a job of
# ENTRIES exchanges: the time to download its network.har (and with ?sanitize=1).
#
#   bench/serve.sh                         # 50 jobs, 10 s, 100k entries
#   JOBS=20 DURATION=5 ENTRIES=20000 bench/serve.sh
#   HARK=path/to/hark bench/serve.sh       # skip the build
#
# Needs: wrk, nginx (apt), curl, python3. Everything on 127.0.0.1.
# BrowserMob Proxy (the peer the issue names) is not run: it is a Java download (GitHub
# releases / Maven Central), neither reachable from the machine these figures came from.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
JOBS=${JOBS:-50}
DURATION=${DURATION:-10}
ENTRIES=${ENTRIES:-100000}
CONNS=${CONNS:-2}   # connections per wrk (per job)
. "$root/bench/lib.sh"
setup_load wrk nginx curl python3

jget() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

start_nginx
# wrk through a forward proxy: absolute-form request lines, Host of the origin.
printf 'wrk.headers["Host"] = "127.0.0.1:%s"\nrequest = function() return wrk.format("GET", "%s") end\n' \
  "$nport" "$target" > "$work/proxy.lua"

# JOBS wrk at once: $1 = name, $2 = proxy|direct, one URL per line on stdin.
many_wrk() {
  local name=$1 mode=$2 i=0 wp=() extra=()
  [ "$mode" = proxy ] && extra=(-s "$work/proxy.lua")
  mkdir -p "$work/$name"
  while read -r url; do
    wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "${extra[@]}" "$url" > "$work/$name/$i.txt" & wp+=($!)
    i=$((i + 1))
  done
  for p in "${wp[@]}"; do wait "$p"; done
}

summary() { # name -> "rps p99median p99max requests errors"
  python3 - "$work/$1" <<'PY'
import re, sys, glob, statistics
def ms(v, u): return float(v) * {"us": 1e-3, "ms": 1, "s": 1e3}[u]
rps, p99, total, errs = 0.0, [], 0, 0
for f in glob.glob(sys.argv[1] + "/*.txt"):
    t = open(f).read()
    rps += float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)", t, re.M)
    p99.append(ms(m.group(1), m.group(2)))
    total += int(re.search(r"(\d+) requests in", t).group(1))
    for m in re.finditer(r"Non-2xx or 3xx responses: (\d+)", t):
        errs += int(m.group(1))
    for m in re.finditer(r"Socket errors: (.*)", t):
        errs += sum(int(x) for x in re.findall(r"\d+", m.group(1)))
print(f"{rps:.0f} {statistics.median(p99):.2f} {max(p99):.2f} {total} {errs}")
PY
}

echo "== direct: $JOBS wrk (-c$CONNS each) straight to nginx, ${DURATION}s"
for _ in $(seq "$JOBS"); do echo "$target"; done | many_wrk direct direct
read -r d_rps d_p99 d_p99max d_total d_err <<< "$(summary direct)"

echo "== hark serve: $JOBS jobs, each wrk through its own proxy"
aport=$(free_port)
"$hark" serve --listen "127.0.0.1:$aport" --data "$work/data" --ca-dir "$work/ca" 2> "$work/serve.log" & spid=$!; pids+=($spid)
wait_port "$aport"
api="http://127.0.0.1:$aport"
: > "$work/jobs.txt"
for i in $(seq "$JOBS"); do
  j=$(curl -sf "$api/v1/jobs" --json "{\"name\":\"bench $i\"}")
  echo "$(echo "$j" | jget id) $(echo "$j" | jget proxy)" >> "$work/jobs.txt"
done
rss0=$(awk '/VmRSS/ {print $2}' "/proc/$spid/status")
awk '{print "http://" $2}' "$work/jobs.txt" | many_wrk serve proxy
read -r s_rps s_p99 s_p99max s_total s_err <<< "$(summary serve)"
serve_hwm=$(hwm $spid)
# Every request wrk counted is in its own job (a job may hold a few more: requests in
# flight when wrk stopped counting).
check=$(python3 - "$work" "$api" <<'PY'
import json, re, sys, urllib.request
w, api = sys.argv[1], sys.argv[2]
jobs = [l.split()[0] for l in open(f"{w}/jobs.txt")]
listing = {j["id"]: j for j in json.load(urllib.request.urlopen(f"{api}/v1/jobs"))["jobs"]}
ok = extra = 0
for i, jid in enumerate(jobs):
    n = int(re.search(r"(\d+) requests in", open(f"{w}/serve/{i}.txt").read()).group(1))
    e = listing[jid]["entries"]
    ok += e >= n
    extra += max(0, e - n)
print(f"{ok}/{len(jobs)} jobs hold every request wrk counted ({extra} more in flight at the end)")
PY
)

echo "== one job of $ENTRIES exchanges"
job=$(curl -sf "$api/v1/jobs" --json '{"name":"big"}')
jid=$(echo "$job" | jget id)
jproxy=$(echo "$job" | jget proxy)
# Drive it in 1 s rounds until it holds ENTRIES exchanges.
while [ "$(curl -sf "$api/v1/jobs/$jid" | jget entries)" -lt "$ENTRIES" ]; do
  wrk -t1 -c8 -d1s -s "$work/proxy.lua" "http://$jproxy" > /dev/null
done
curl -sf -X POST "$api/v1/jobs/$jid/stop" > /dev/null
entries=$(curl -sf "$api/v1/jobs/$jid" | jget entries)
bytes=$(curl -sf "$api/v1/jobs/$jid" | jget bytes)
t0=$(date +%s.%N)
curl -sf -o "$work/big.har" "$api/v1/jobs/$jid/network.har"
t1=$(date +%s.%N)
curl -sf -o "$work/big-clean.har" "$api/v1/jobs/$jid/network.har?sanitize=1"
t2=$(date +%s.%N)
count() { python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['log']['entries']))" "$1"; }
got=$(count "$work/big.har")
got_clean=$(count "$work/big-clean.har")
final_hwm=$(hwm $spid)
har_bytes=$(stat -c %s "$work/big.har")

echo
echo "machine: $(nproc) cores; wrk -t1 -c$CONNS per job, ${DURATION}s; nginx 1 worker, 612-byte file"
echo
echo "| run | total requests/s | p99, median job | p99, worst job | requests | peak RSS | wrk errors |"
echo "|---|---:|---:|---:|---:|---:|---:|"
echo "| $JOBS × wrk → nginx (direct) | $d_rps | ${d_p99} ms | ${d_p99max} ms | $d_total | | $d_err |"
echo "| $JOBS × wrk → own hark serve job → nginx | $s_rps | ${s_p99} ms | ${s_p99max} ms | $s_total | $((serve_hwm / 1024)) MB | $s_err |"
echo
echo "hark serve RSS with $JOBS idle jobs: $((rss0 / 1024)) MB; entries: $check"
python3 -c "print(f'hark serve / direct throughput: {$s_rps / $d_rps:.2f}x')"
echo "job of $entries entries (journal $((bytes / 1048576)) MB): network.har ($((har_bytes / 1048576)) MB, $got entries) in $(python3 -c "print(f'{$t1 - $t0:.2f}')") s;"
echo "  ?sanitize=1 ($got_clean entries) in $(python3 -c "print(f'{$t2 - $t1:.2f}')") s; peak RSS of hark serve over the whole run: $((final_hwm / 1024)) MB"
