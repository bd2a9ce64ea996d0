#!/usr/bin/env bash
# `hark view`'s search of every field (`#search=`) on a big HAR: time to the first match
# and to the end of the search, through the streaming API as the page reads it.
#
#   bench/view-search.sh [HAR]     (default: /tmp/hark-bench/big-1024.har, made with
#                                   bench/gen-har.py when absent)
#
# Needs: python3, curl. Prints a Markdown table for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
har=${1:-/tmp/hark-bench/big-1024.har}
if [ ! -f "$har" ]; then
  mkdir -p "$(dirname "$har")"
  python3 bench/gen-har.py "$har" 1024
fi
[ -n "${NO_BUILD:-}" ] || cargo build --release -q -p hark-cli   # NO_BUILD=1: use the binary as it is
hark=target/release/hark
cat "$har" > /dev/null   # page cache warm
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
source bench/lib.sh
start_view "$hark" "$har" "$tmp"
first_rows=$first
# Searches run once the index and the findings are done (a quiet server).
until curl -sf "${url}api/files/0/findings" | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["state"] != "pending" else 1)'; do sleep 0.05; done
findings=$(since "$t0")
echo "first rows $first_rows ms, indexed $indexed ms, findings $findings ms after launch"
echo
entries=$(curl -sf "${url}api/files/0/summary" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')
search() { # label, text, regex(0/1)
  python3 - "$url" "$1" "$2" "$3" <<'PY'
import json, sys, time, urllib.parse, urllib.request
url, label, text, regex = sys.argv[1:5]
q = urllib.parse.urlencode({"text": text, **({"regex": "1"} if regex == "1" else {})})
t0 = time.monotonic()
first = None
last = None
with urllib.request.urlopen(f"{url}api/files/0/search?{q}") as r:
    for line in r:
        m = json.loads(line)
        if m["hits"] and first is None:
            first = (time.monotonic() - t0) * 1000
        last = m["progress"]
total = (time.monotonic() - t0) * 1000
f = f"{first:.0f}" if first is not None else "–"
print(f"| {label} | {last['count']} | {f} | {total:.0f} | {last['ms']:.0f} |")
PY
}
echo "| search over $entries entries ($(($(stat -c %s "$har") / 1000000)) MB) | matches | first match (ms) | done, client (ms) | done, server (ms) |"
echo "|---|---:|---:|---:|---:|"
search "text in a response body: \`invalid_grant\`" "invalid_grant" 0
search "text in a request header: \`Mozilla/5.0 (X11\`" "Mozilla/5.0 (X11" 0
search "text found nowhere" "no-such-text-anywhere-7f3a" 0
search "regex \`invalid_gr[a]nt\` (every entry parsed)" "invalid_gr[a]nt" 1
rss=$(awk '/VmHWM/ {print int($2/1024)}' /proc/$pid/status)
echo
echo "server peak RSS: $rss MB"
