#!/usr/bin/env bash
# Endpoint precision and recall of `hark surface`, npm har-to-openapi and PyPI
# mitmproxy2swagger on the same Chromium recording (testdata/har/surface-shop.chromium.har)
# against the true endpoint list of testdata/surface-site/server.mjs (TRUTH).
#
#   bench/surface.sh            # installs the peers into a temporary directory
#
# har-to-openapi runs with attemptToParameterizeUrl; mitmproxy2swagger runs twice, with
# every suggested path template accepted in between (its documented manual step).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
har="$root/testdata/har/surface-shop.chromium.har"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cargo build -q --release --manifest-path "$root/Cargo.toml" -p hark-cli
hark="$root/target/release/hark"

node --input-type=module -e "import('$root/testdata/surface-site/server.mjs').then(m => console.log(m.TRUTH.join('\n')))" > truth.txt

# hark
"$hark" surface "$har" --json > hark.json || [ $? -eq 1 ]   # 1: passive findings
python3 -c '
import json, re, sys
for e in json.load(open("hark.json"))["endpoints"]:
    print(e["method"], re.sub(r"\{[^}]*\}", "{}", e["path"]))' > hark.txt

# npm har-to-openapi
npm install --silent --no-audit --no-fund har-to-openapi > /dev/null 2>&1
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
node h2o.mjs "$har" > h2o.txt || echo "har-to-openapi failed" >&2

# PyPI mitmproxy2swagger
python3 -m venv venv > /dev/null
venv/bin/pip install -q mitmproxy2swagger pyyaml > /dev/null 2>&1
origin=$(python3 -c "import json,sys;print('/'.join(json.load(open(sys.argv[1]))['log']['entries'][0]['request']['url'].split('/')[:3]))" "$har")
m2s_status=ok
if venv/bin/mitmproxy2swagger -i "$har" -o m2s.yml -p "$origin" -f har > m2s.log 2>&1; then
  sed -i 's/- ignore:/- /' m2s.yml
  venv/bin/mitmproxy2swagger -i "$har" -o m2s.yml -p "$origin" -f har >> m2s.log 2>&1 || m2s_status="second pass crashed: $(tail -1 m2s.log)"
else
  m2s_status="first pass crashed: $(tail -1 m2s.log)"
fi
venv/bin/python -c '
import re, sys, yaml
d = yaml.safe_load(open("m2s.yml")) or {}
for p, item in (d.get("paths") or {}).items():
    for m in item:
        print(m.upper(), re.sub(r"\{[^}]*\}", "{}", p))' > m2s.txt 2>/dev/null || true

h2o_v=$(node -p "require('./node_modules/har-to-openapi/package.json').version")
m2s_v=$(venv/bin/pip show mitmproxy2swagger | sed -n 's/^Version: //p')
python3 - "$m2s_status" "$h2o_v" "$m2s_v" <<'PY'
import sys
truth = set(open("truth.txt").read().split("\n")) - {""}
print(f"{len(truth)} true endpoints (testdata/surface-site/server.mjs)\n")
print(f"{'tool':<26}{'found':>6}{'right':>7}{'precision':>11}{'recall':>8}")
for name, f in [("hark surface", "hark.txt"), (f"har-to-openapi {sys.argv[2]}", "h2o.txt"), (f"mitmproxy2swagger {sys.argv[3]}", "m2s.txt")]:
    found = set(open(f).read().split("\n")) - {""}
    tp = len(found & truth)
    p = tp / len(found) if found else 0.0
    r = tp / len(truth)
    note = "" if not name.startswith("mitmproxy2swagger") or sys.argv[1] == "ok" else f"  ({sys.argv[1][:90]})"
    print(f"{name:<26}{len(found):>6}{tp:>7}{p:>11.3f}{r:>8.3f}{note}")
PY
