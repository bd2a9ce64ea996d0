#!/usr/bin/env bash
# `hark view A --compare B` on two large HARs: A = bench/gen-har.py's file of SIZE_MB
# (default 1024), B = A with every `"status": 200,` made 201 (as bench/diff.sh). Time until
# both files are indexed, until the pairs answer (from the indexes), until every pair's
# responses are compared (the background pass; started once the findings passes are over,
# so that it has the cores to itself), the server's RSS before and its peak after comparing, and `hark diff --json A B` on the same files in the same run for reference.
#
#   bench/view-compare.sh [SIZE_MB]     # HARK=path/to/hark to skip the release build
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/lib.sh"
size=${1:-1024}
setup_load python3 curl /usr/bin/time
a="$work/a.har"; b="$work/b.har"
python3 "$root/bench/gen-har.py" "$a" "$size" > /dev/null
sed 's/"status": 200,/"status": 201,/' "$a" > "$b"
json() { python3 -c "import json,sys; v=json.load(sys.stdin); print($1)"; }

t0=$(now)
"$hark" view --no-open --port 0 --quiet "$a" --compare "$b" > "$work/url" &
pid=$!; pids+=($pid)
until [ -s "$work/url" ]; do sleep 0.01; done
url=$(head -1 "$work/url" | cut -d'#' -f1)
for f in 0 1; do
  until [ "$(curl -sf "${url}api/files/$f/summary" | json 'v["done"]')" = True ]; do sleep 0.05; done
done
indexed=$(since "$t0")
# The findings pass (diagnose, right after indexing) would share the cores: wait for it.
for f in 0 1; do
  until [ "$(curl -sf "${url}api/files/$f/findings" | json 'v["state"]')" != pending ]; do sleep 0.1; done
done
rss_indexed=$(( $(rss "$pid") / 1024 ))
t1=$(now)
pairs=$(curl -sf "${url}api/compare?a=0&b=1&limit=1" | json 'v["counts"]["pairs"]')
first=$(since "$t1")
until curl -sf "${url}api/compare?a=0&b=1&limit=0" | grep -q '^{"done":true'; do sleep 0.2; done
done_ms=$(since "$t1")
counts=$(curl -sf "${url}api/compare?a=0&b=1&limit=1" | json 'v["counts"]')
peak=$(( $(hwm "$pid") / 1024 ))
kill "$pid"
/usr/bin/time -f '%e %M' -o "$work/t" "$hark" diff --json "$a" "$b" > /dev/null || true
read -r dsecs dkb < <(tail -1 "$work/t")
entries=$(python3 -c "import sys; print(open(sys.argv[1]).read().count('\"startedDateTime\"'))" "$a")
echo "files: $size MB each, $entries entries; $counts"
echo "| step | ms |"
echo "|---|---:|"
echo "| both files indexed (from launch) | $indexed |"
echo "| the pairs answer (first /api/compare) | $first |"
echo "| every pair's responses compared | $done_ms |"
echo "| \`hark diff --json A B\` (wall) | $(python3 -c "print(round($dsecs*1000))") |"
echo "server RSS: $rss_indexed MB indexed, peak $peak MB after comparing ($pairs pairs); hark diff peak $(( dkb / 1024 )) MB"
