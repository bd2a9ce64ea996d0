#!/usr/bin/env bash
# Throughput and peak memory of `hark export` (Parquet, JSON lines, curl), `hark filter`,
# `hark merge` and `hark split` on a generated HAR of real entries, all in one run.
#
#   bench/cut.sh [SIZE_MB]        (default 1024; HAR=FILE uses a given file; HARK=BIN a build)
#
# Needs: GNU time (/usr/bin/time), python3. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1024}
har=${HAR:-bench/out/real-${size}m.har}
if [ ! -f "$har" ]; then mkdir -p bench/out; python3 bench/gen-har.py "$har" "$size"; fi
[ -x /usr/bin/time ] || { echo "GNU time is needed (apt-get install time)" >&2; exit 2; }
if [ -n "${HARK:-}" ]; then hark=$HARK; else cargo build --release -q -p hark-cli; hark=target/release/hark; fi
bytes=$(stat -c %s "$har")
cat "$har" > /dev/null   # page cache warm

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() { # name, command...
  local name=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$tmp/time" "$@" > /dev/null 2>"$tmp/stderr" || {
    local rc=$?; cat "$tmp/stderr" >&2; exit $rc;
  }
  read -r secs user sys kb < <(tail -n 1 "$tmp/time")
  echo "$name|$secs $user $sys $kb"
  rm -rf "$tmp/out"*
}

{
  run "export --to parquet --no-template" $hark -q export --to parquet --no-template "$har" -o "$tmp/out.parquet"
  run "export --to parquet" $hark -q export --to parquet "$har" -o "$tmp/out.parquet"
  run "export --to jsonl --no-template" $hark -q export --to jsonl --no-template "$har" -o "$tmp/out.jsonl"
  run "export --to curl" $hark -q export --to curl "$har" -o "$tmp/out.sh"
  run "filter --status 4xx --status 5xx" $hark -q filter --status 4xx --status 5xx --compact "$har" -o "$tmp/out.har"
  run "filter --type image --exclude" $hark -q filter --type image --exclude --compact "$har" -o "$tmp/out.har"
  run "split --by size:100M" $hark -q split --by size:100M --compact "$har" -o "$tmp/out.d"
  run "split --by host" $hark -q split --by host --compact "$har" -o "$tmp/out.d"
  run "merge (the file twice)" $hark -q merge --compact "$har" "$har" -o "$tmp/out.har"
} | python3 -c '
import sys
bytes_ = int(sys.argv[1]); cores = sys.argv[2]
print(f"{bytes_/1e6:.0f} MB HAR of real entries, {cores} cores\n")
print("| command | wall (s) | CPU (s) | throughput (MB/s of input) | peak RSS (MB) |")
print("|---|---:|---:|---:|---:|")
for line in sys.stdin.read().splitlines():
    name, rest = line.split("|")
    secs, user, system, kb = rest.split()
    secs = float(secs)
    n = 2 if name.startswith("merge") else 1
    print(f"| `{name}` | {secs:.2f} | {float(user) + float(system):.2f} | {n * bytes_ / 1e6 / secs:.0f} | {int(kb)/1024:.0f} |")
' "$bytes" "$(nproc)"
