#!/usr/bin/env bash
# Endpoint precision and recall of `hark surface`, npm har-to-openapi and PyPI
# mitmproxy2swagger on the same Chromium recordings, against hand-written truth lists:
#   shop     testdata/har/surface-shop.chromium.har     testdata/surface-site/server.mjs
#   rest     testdata/surface-apps/har/rest.chromium.har    testdata/surface-apps/rest/server.mjs
#   graphql  testdata/surface-apps/har/graphql.chromium.har testdata/surface-apps/graphql/server.mjs
#   ssr      testdata/surface-apps/har/ssr.chromium.har     testdata/surface-apps/ssr/server.mjs
# then the cost of pathological entries: one URL of 100 000 path segments, one request
# with 200 000 headers (`hark check` on the same file for reference).
#
#   bench/surface.sh            # installs the peers into a temporary directory
#   HARK=target/debug/hark NO_PEERS=1 bench/surface.sh   # a given build, hark only
#
# har-to-openapi runs with attemptToParameterizeUrl; mitmproxy2swagger runs twice, with
# every suggested path template accepted in between (its documented manual step). GraphQL
# operations and JSON-RPC methods are truth rows of their own (`POST /graphql query Me`):
# the peers list only the HTTP path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
if [ -n "${HARK:-}" ]; then
  hark=$(cd "$root" && realpath "$HARK")
else
  cargo build -q --release --manifest-path "$root/Cargo.toml" -p hark-cli
  hark="$root/target/release/hark"
fi

apps="shop rest graphql ssr"
har_of() { if [ "$1" = shop ]; then echo "$root/testdata/har/surface-shop.chromium.har"; else echo "$root/testdata/surface-apps/har/$1.chromium.har"; fi; }
server_of() { if [ "$1" = shop ]; then echo "$root/testdata/surface-site/server.mjs"; else echo "$root/testdata/surface-apps/$1/server.mjs"; fi; }

if [ -z "${NO_PEERS:-}" ]; then
  npm install --silent --no-audit --no-fund har-to-openapi > /dev/null 2>&1 || echo "note: npm har-to-openapi is not installable here" >&2
  cat > h2o.mjs <<'JS'
import fs from 'node:fs';
import { generateSpec } from 'har-to-openapi';
const har = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const { spec } = await generateSpec(har, { attemptToParameterizeUrl: true });
for (const [p, item] of Object.entries(spec.paths || {}))
  for (const m of Object.keys(item))
    if (['get', 'post', 'put', 'patch', 'delete', 'head', 'options'].includes(m))
      console.log(m.toUpperCase() + ' ' + p.replace(/\{[^}]*\}/g, '{}'));
JS
  python3 -m venv venv > /dev/null
  venv/bin/pip install -q mitmproxy2swagger pyyaml > /dev/null 2>&1 || echo "note: PyPI mitmproxy2swagger is not installable here" >&2
fi

for app in $apps; do
  har=$(har_of "$app")
  node --input-type=module -e "import('$(server_of "$app")').then(m => console.log(m.TRUTH.join('\n')))" > "truth-$app.txt"
  "$hark" surface "$har" --json --fail-on error > "hark-$app.json"
  python3 - "$app" <<'PY'
import json, re, sys
app = sys.argv[1]
with open(f"hark-{app}.txt", "w") as out:
    for e in json.load(open(f"hark-{app}.json"))["endpoints"]:
        s = e["method"] + " " + re.sub(r"\{[^}]*\}", "{}", e["path"])
        if e.get("operation"):
            s += " " + e["operation"]
        print(s, file=out)
PY
  : > "h2o-$app.txt"; : > "m2s-$app.txt"
  if [ -z "${NO_PEERS:-}" ]; then
    node h2o.mjs "$har" > "h2o-$app.txt" 2>/dev/null || echo "har-to-openapi failed on $app" >&2
    origin=$(python3 -c "import json,sys;print('/'.join(json.load(open(sys.argv[1]))['log']['entries'][0]['request']['url'].split('/')[:3]))" "$har")
    if venv/bin/mitmproxy2swagger -i "$har" -o "m2s-$app.yml" -p "$origin" -f har > m2s.log 2>&1; then
      sed -i 's/- ignore:/- /' "m2s-$app.yml"
      venv/bin/mitmproxy2swagger -i "$har" -o "m2s-$app.yml" -p "$origin" -f har >> m2s.log 2>&1 || echo "mitmproxy2swagger second pass crashed on $app" >&2
      venv/bin/python -c '
import re, sys, yaml
d = yaml.safe_load(open(sys.argv[1])) or {}
for p, item in (d.get("paths") or {}).items():
    for m in item:
        print(m.upper(), re.sub(r"\{[^}]*\}", "{}", p))' "m2s-$app.yml" > "m2s-$app.txt" 2>/dev/null || true
    else
      echo "mitmproxy2swagger crashed on $app: $(tail -1 m2s.log)" >&2
    fi
  fi
done

h2o_v=$(node -p "require('./node_modules/har-to-openapi/package.json').version" 2>/dev/null || echo "-")
m2s_v=$(venv/bin/pip show mitmproxy2swagger 2>/dev/null | sed -n 's/^Version: //p' || echo "-")
python3 - "$h2o_v" "${m2s_v:--}" $apps <<'PY'
import sys
h2o_v, m2s_v, apps = sys.argv[1], sys.argv[2], sys.argv[3:]
print(f"{'app':<9}{'tool':<26}{'true':>5}{'found':>6}{'right':>7}{'precision':>11}{'recall':>8}")
for app in apps:
    truth = set(open(f"truth-{app}.txt").read().split("\n")) - {""}
    for name, f in [("hark surface", "hark"), (f"har-to-openapi {h2o_v}", "h2o"), (f"mitmproxy2swagger {m2s_v}", "m2s")]:
        found = set(open(f"{f}-{app}.txt").read().split("\n")) - {""}
        if not found and f != "hark":
            continue
        tp = len(found & truth)
        p = tp / len(found) if found else 0.0
        print(f"{app:<9}{name:<26}{len(truth):>5}{len(found):>6}{tp:>7}{p:>11.3f}{tp / len(truth):>8.3f}")
PY

# Pathological entries: cost must stay linear (quadratic took 3.1 s at 20 000 segments).
python3 - <<'PY'
import json
def har(url, headers):
    e = {"startedDateTime": "2024-01-01T00:00:00Z", "time": 1,
         "request": {"method": "GET", "url": url, "httpVersion": "HTTP/1.1", "headers": headers, "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
         "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": [{"name": "Content-Type", "value": "application/json"}], "cookies": [],
                      "content": {"size": 2, "mimeType": "application/json", "text": "{}"}, "redirectURL": "", "headersSize": -1, "bodySize": 2},
         "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}}
    return {"log": {"version": "1.2", "creator": {"name": "bench", "version": "1"}, "entries": [e]}}
json.dump(har("http://127.0.0.1:8080" + "".join(f"/s{i % 7}" for i in range(100000)), []), open("segments.har", "w"))
json.dump(har("http://127.0.0.1:8080/api/x", [{"name": f"X-H{i}", "value": f"v{i}"} for i in range(200000)]), open("headers.har", "w"))
PY
echo
printf '%-34s%10s%10s\n' "pathological entry" "surface" "check"
for f in segments headers; do
  s=$( { /usr/bin/time -f %e "$hark" surface "$f.har" --json > /dev/null; } 2>&1 | tail -1)
  c=$( { /usr/bin/time -f %e "$hark" check "$f.har" > /dev/null || true; } 2>&1 | tail -1)
  label=$([ $f = segments ] && echo "one URL, 100 000 segments" || echo "one request, 200 000 headers")
  printf '%-34s%9ss%9ss\n' "$label" "$s" "$c"
done
