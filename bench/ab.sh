#!/usr/bin/env bash
# A/B: the same commands, two hark binaries, interleaved runs on the same files, so
# that a refactor can be checked for "nothing slower" on a machine that is not idle.
#
#   bench/ab.sh OLD_HARK NEW_HARK [BIG_MB] [SLICE_MB]     (defaults 1024 and 100)
#
# Build the old binary from the old commit (git worktree add /tmp/old REV && cargo
# build --release in it). Files are bench/gen-har.py's, shared with sanitize.sh and
# diagnose.sh in ${BENCH_DIR:-/tmp/hark-bench}. Each command runs RUNS times (default
# 5) per binary, alternating; prints the median wall and CPU time and peak RSS of each
# and the ratio new/old (wall), as a Markdown table.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
old=$(realpath "${1:?usage: bench/ab.sh OLD_HARK NEW_HARK [BIG_MB] [SLICE_MB]}")
new=$(realpath "${2:?usage: bench/ab.sh OLD_HARK NEW_HARK [BIG_MB] [SLICE_MB]}")
big_mb=${3:-1024}
slice_mb=${4:-100}
runs=${RUNS:-5}
dir=${BENCH_DIR:-/tmp/hark-bench}
mkdir -p "$dir"
big="$dir/big-${big_mb}.har"
slice="$dir/slice-${slice_mb}.har"
[ -s "$big" ] || python3 "$here/gen-har.py" "$big" "$big_mb"
[ -s "$slice" ] || python3 "$here/gen-har.py" "$slice" "$slice_mb"
[ -x /usr/bin/time ] || { echo "GNU time is needed (apt-get install time)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat "$big" "$slice" > /dev/null   # page cache

one() { # bin, args... -> "wall cpu kb"
  local bin=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$tmp/t" "$bin" -q "$@" > /dev/null 2>"$tmp/err" || {
    local rc=$?; [ $rc -le 1 ] || { cat "$tmp/err" >&2; exit $rc; }
  }
  awk 'END {print $1, $2 + $3, $4}' "$tmp/t"
}

cases=(
  "check|check --json $big"
  "fmt --compact|fmt --compact $big -o $tmp/out.har"
  "summary|summary --json $big"
  "diagnose|diagnose --json $big"
  "sanitize|sanitize $big -o $tmp/out.har"
  "sanitize (slice)|sanitize $slice -o $tmp/out.har"
  "surface (slice)|surface --json $slice"
)
{
  for c in "${cases[@]}"; do
    name=${c%%|*}; args=${c#*|}
    for _ in $(seq "$runs"); do
      # shellcheck disable=SC2086
      echo "$name|old|$(one "$old" $args)"
      # shellcheck disable=SC2086
      echo "$name|new|$(one "$new" $args)"
    done
  done
} | python3 -c '
import sys, statistics as st
rows = {}
order = []
for line in sys.stdin.read().splitlines():
    name, which, vals = line.split("|")
    wall, cpu, kb = map(float, vals.split())
    if name not in order: order.append(name)
    rows.setdefault((name, which), []).append((wall, cpu, kb))
print("| command | old wall (s) | new wall (s) | new/old | old CPU (s) | new CPU (s) | old RSS (MB) | new RSS (MB) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for n in order:
    o, w = rows[(n, "old")], rows[(n, "new")]
    ow, nw = st.median(x[0] for x in o), st.median(x[0] for x in w)
    oc, nc = st.median(x[1] for x in o), st.median(x[1] for x in w)
    orss, nrss = max(x[2] for x in o) / 1024, max(x[2] for x in w) / 1024
    print(f"| `{n}` | {ow:.2f} | {nw:.2f} | {nw/ow:.3f} | {oc:.2f} | {nc:.2f} | {orss:.0f} | {nrss:.0f} |")
'
