#!/usr/bin/env bash
# `hark view` on a generated 1 GB HAR of real entries (plus one entry with a 5 MB JSON
# body, first): time until the first rows show, indexing time, peak RSS of the server,
# filter and sort times over all entries, time to open the 5 MB body — through the API
# (curl) and in headless Chromium — and what peers do with the same file: jq loading it,
# Node's JSON.parse of the whole file (what in-browser viewers such as softwareishard's
# HAR Viewer or Google's HAR Analyzer do).
#
#   bench/view.sh [SIZE_MB]        (default 1024; files are kept in bench/out/)
#
# Needs: python3, jq, node, GNU time, curl, /usr/bin/chromium, testdata/node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1024}
mkdir -p bench/out
base=bench/out/real-${size}m.har
[ -f "$base" ] || python3 bench/gen-har.py "$base" "$size"
har=bench/out/view-${size}m.har
if [ ! -f "$har" ]; then
  # The same file with a 5 MB JSON response first in log.entries.
  python3 - "$base" "$har" <<'PY'
import json, sys
src, dst = sys.argv[1:3]
items = [{"id": i, "name": f"item {i}", "tags": ["a", "b", "c"], "price": i * 1.25,
          "description": "x" * 60} for i in range(40000)]
body = json.dumps({"items": items})
big = {"startedDateTime": "2025-12-31T23:59:59.000Z", "time": 850.5,
       "request": {"method": "GET", "url": "https://api.example.com/v1/items?all=1", "httpVersion": "HTTP/1.1",
                   "headers": [{"name": "Accept", "value": "application/json"}], "queryString": [{"name": "all", "value": "1"}],
                   "cookies": [], "headersSize": -1, "bodySize": 0},
       "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                    "headers": [{"name": "Content-Type", "value": "application/json"}], "cookies": [],
                    "content": {"size": len(body), "mimeType": "application/json", "text": body},
                    "redirectURL": "", "headersSize": -1, "bodySize": len(body)},
       "cache": {}, "timings": {"send": 0.5, "wait": 400, "receive": 450}}
with open(src, "rb") as f, open(dst, "wb") as out:
    head = f.read(1 << 16)
    mark = b'"entries": [\n'
    at = head.index(mark) + len(mark)
    out.write(head[:at])
    out.write(json.dumps(big).encode() + b",\n")
    out.write(head[at:])
    while True:
        b = f.read(1 << 24)
        if not b:
            break
        out.write(b)
PY
fi
for t in jq node curl python3; do command -v $t >/dev/null || { echo "$t is needed" >&2; exit 2; }; done
[ -x /usr/bin/time ] || { echo "GNU time is needed (apt-get install time)" >&2; exit 2; }
cargo build --release -q -p hark-cli
hark=target/release/hark
bytes=$(stat -c %s "$har")
cat "$har" > /dev/null   # page cache warm for every tool

tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
source bench/lib.sh

echo "== API (curl)"
start_view "$hark" "$har" "$tmp"
entries=$(curl -sf "${url}api/files/0/summary" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')
query() { # label, query string: the server's own query time and curl's wall time (ms)
  local out
  out=$(curl -s -o "$tmp/body" -w '%{time_total}' "${url}api/files/0/rows?limit=100&$2")
  python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); print("| %s | %d | %.1f | %.1f |" % (sys.argv[3], b["matched"], b["ms"], float(sys.argv[2]) * 1000))' "$tmp/body" "$out" "$1"
}
{
  echo "| query over $entries entries | rows | server (ms) | curl wall (ms) |"
  echo "|---|---:|---:|---:|"
  query "text \`analytics\`" "q=analytics"
  query "regex \`\\.(png\\|jpe?g)\$\`" "q=%5C.(png%7Cjpe%3Fg)%24&regex=1"
  query "only errors" "errors=1"
  query "4xx + 5xx, XHR, GET" "status=4xx,5xx&type=xhr&method=GET"
  query "sort by time, descending" "sort=time&desc=1"
  query "sort by domain, grouped by page" "sort=domain&group=1"
  query "scroll: rows 100000-100100 (cached query)" "sort=domain&group=1&offset=100000"
} > "$tmp/queries"
body=$(curl -s -o "$tmp/entry" -w '%{time_total}' "${url}api/files/0/entries/0")
bodysize=$(stat -c %s "$tmp/entry")
rss=$(awk '/VmHWM/ {print int($2/1024)}' /proc/$pid/status)
kill $pid; wait $pid 2>/dev/null || true; pid=

echo "== browser (headless Chromium)"
node bench/view-browser.mjs "$hark" "$har" > "$tmp/browser.json"

echo "== peers"
peer() { # name, command...: wall seconds, peak RSS MB, outcome
  local name=$1; shift
  if /usr/bin/time -f "%e %M" -o "$tmp/time" "$@" > "$tmp/out" 2> "$tmp/err"; then
    outcome="loaded ($(head -c 60 "$tmp/out" | tr -d '\n') entries)"
  else
    outcome="fails: $(grep -m1 -oE '(RangeError|Error|error)[^"]{0,80}' "$tmp/err" | head -1)"
  fi
  read -r secs kb < <(tail -n 1 "$tmp/time")
  echo "| $name | $secs | $((kb / 1024)) | $outcome |"
}
{
  peer "\`jq '.log.entries \\| length'\`" jq '.log.entries | length' "$har"
  peer "Node \`JSON.parse(readFileSync(f, 'utf8'))\`" node -e 'const t = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(t.log.entries.length)' "$har"
  peer "Python \`json.load\`" python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["log"]["entries"]))' "$har"
} > "$tmp/peers"

python3 - "$bytes" "$entries" "$first" "$indexed" "$rss" "$body" "$bodysize" "$tmp/browser.json" <<'PY'
import json, sys
bytes_, entries, first, indexed, rss, body, bodysize, bj = sys.argv[1:9]
b = json.load(open(bj))
print(f"\n{int(bytes_)/1e6:.0f} MB HAR, {entries} entries (one with a 5 MB JSON body)\n")
print("| `hark view` | API (curl) | browser (headless Chromium) | target |")
print("|---|---:|---:|---:|")
print(f"| first rows shown | {first} ms | {b['first_rows_ms']:.0f} ms | < 3 s |")
print(f"| whole file indexed | {indexed} ms | {b['indexed_ms']:.0f} ms | |")
print(f"| server peak RSS | {rss} MB | {b['peak_rss_mb']:.0f} MB | < 300 MB |")
print(f"| open the 5 MB body | {float(body)*1000:.0f} ms ({int(bodysize)/1e6:.1f} MB JSON) | {b['open_5mb_body_ms']:.0f} ms | |")
print(f"| filter `analytics` (typed, incl. 120 ms debounce) | | {b['filter_text_ms']:.0f} ms | |")
print(f"| only errors (click) | | {b['filter_errors_ms']:.0f} ms | |")
print(f"| sort by time (click) | | {b['sort_time_ms']:.0f} ms | |")
print(f"| the page: JS heap, DOM elements (5 MB body open) | | {b['page_js_heap_mb']:.0f} MB, {b['page_dom_elements']} | |")
PY
echo
cat "$tmp/queries"
echo
echo "| peer loading the same file | wall (s) | peak RSS (MB) | outcome |"
echo "|---|---:|---:|---|"
cat "$tmp/peers"
