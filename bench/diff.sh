#!/usr/bin/env bash
# `hark diff` of two large HARs: memory stays bounded. A = bench/gen-har.py's file of
# SIZE_MB (default 1024); B = the same file with every `"status": 200` made 201 (every
# pair of those differs: the worst case, the first file is read a second time for the
# pairs compared in detail), and A against itself. Wall time and peak RSS (GNU time).
#
#   bench/diff.sh [SIZE_MB]        # HARK=path/to/hark to skip the release build
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/lib.sh"
size=${1:-1024}
setup_load python3 /usr/bin/time
a="$work/a.har"; b="$work/b.har"
python3 "$root/bench/gen-har.py" "$a" "$size" > /dev/null
sed 's/"status": 200,/"status": 201,/' "$a" > "$b"
run() {
  /usr/bin/time -f '%e %M' -o "$work/t" "$hark" diff --json "$1" "$2" > "$work/out.json" || true
  read -r secs kb < "$work/t"
  echo "| $3 | $(python3 -c "import json; r=json.load(open('$work/out.json')); print(r['a']['entries'], '|', r['paired'], '|', sum(len(e['status']) for e in r['endpoints']))") | $secs | $(( kb / 1024 )) |"
}
echo "| files | entries | pairs | endpoints with status changes | wall (s) | peak RSS (MB) |"
echo "|---|---:|---:|---:|---:|---:|"
run "$a" "$a" "A vs A ($size MB each)"
run "$a" "$b" "A vs B (200 → 201)"
