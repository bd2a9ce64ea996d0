#!/usr/bin/env bash
# Throughput and peak memory of `hark check` and `hark fmt --compact` against `jq -c .`
# on a generated HAR of real entries, all in one run.
#
#   bench/core.sh [SIZE_MB]        (default 1024; the file is kept in bench/out/)
#
# Needs: jq, GNU time (/usr/bin/time), python3. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1024}
mkdir -p bench/out
har=bench/out/real-${size}m.har
[ -f "$har" ] || python3 bench/gen-har.py "$har" "$size"
command -v jq >/dev/null || { echo "jq is needed (apt-get install jq)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "GNU time is needed (apt-get install time)" >&2; exit 2; }
cargo build --release -q -p hark-cli
hark=target/release/hark
bytes=$(stat -c %s "$har")
# Warm the page cache so every tool reads from memory.
cat "$har" > /dev/null

# Private scratch files: other bench scripts may run at the same time.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() { # name, command...
  local name=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$tmp/time" "$@" > /dev/null 2>"$tmp/stderr" || {
    local rc=$?; [ $rc -le 1 ] || { cat "$tmp/stderr" >&2; exit $rc; }
  }
  read -r secs user sys kb < <(tail -n 1 "$tmp/time")
  echo "$name $secs $user $sys $kb"
}

{
  run "jq -c ." jq -c . "$har"
  run "hark check" $hark -q check --json "$har"
  run "hark fmt --compact" $hark -q fmt --compact "$har"
  run "hark check -j1" $hark -q check -j 1 --json "$har"
  run "hark fmt --compact -j1" $hark -q fmt --compact -j 1 "$har"
} | python3 -c '
import sys
bytes_ = int(sys.argv[1]); cores = sys.argv[2]
rows = [l.rsplit(" ", 4) for l in sys.stdin.read().splitlines()]
base = None
print(f"{bytes_/1e6:.0f} MB HAR of real entries, {cores} cores\n")
print("| command | wall (s) | CPU (s) | throughput (MB/s) | × jq | peak RSS (MB) |")
print("|---|---:|---:|---:|---:|---:|")
for name, secs, user, system, kb in rows:
    secs = float(secs); mbs = bytes_ / 1e6 / secs
    cpu = float(user) + float(system)
    base = base or mbs
    print(f"| `{name}` | {secs:.2f} | {float(cpu):.2f} | {mbs:.0f} | {mbs/base:.1f} | {int(kb)/1024:.0f} |")
' "$bytes" "$(nproc)"
