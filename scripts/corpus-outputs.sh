#!/usr/bin/env bash
# Writes what check, summary, diagnose, sanitize and surface say about every HAR of the
# corpus (../shared/corpus/public, wild/) and testdata/har into OUTDIR, one file per
# command and input, with the exit status. Two runs (say, before and after a refactor)
# are compared with `diff -r`:
#
#   scripts/corpus-outputs.sh /tmp/before target/release/hark   # at the old commit
#   scripts/corpus-outputs.sh /tmp/after  target/release/hark   # at the new one
#   diff -r /tmp/before /tmp/after && echo identical
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/corpus-outputs.sh OUTDIR [HARK]}
hark=${2:-target/release/hark}
[ -x "$hark" ] || { echo "$hark: not built (cargo build --release)" >&2; exit 2; }
hark=$(realpath "$hark")
rm -rf "$out"; mkdir -p "$out"
# A private scratch folder; its name is replaced by <tmp> in what the commands print,
# so that runs compare equal.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
files=(../shared/corpus/public/*.har ../shared/corpus/wild/*.har testdata/har/*.har)
run() { # name, args...
  local name=$1; shift
  "$hark" "$@" >"$out/$name.out" 2>"$out/$name.err"
  echo "exit $?" >>"$out/$name.out"
  sed -i "s|$tmp|<tmp>|g" "$out/$name.out" "$out/$name.err"
}
for f in "${files[@]}"; do
  b=$(basename "$(dirname "$f")")__$(basename "$f" .har)
  run "$b.check" check "$f"
  run "$b.check-json" check --json "$f"
  run "$b.summary" summary "$f"
  run "$b.summary-json" summary --json "$f"
  run "$b.summary-md" summary --markdown "$f"
  run "$b.diagnose" diagnose "$f"
  run "$b.diagnose-json" diagnose --json "$f"
  run "$b.diagnose-md" diagnose --markdown "$f"
  run "$b.sanitize" sanitize "$f" -o -
  run "$b.sanitize-compact" sanitize --compact "$f" -o -
  run "$b.sanitize-check" sanitize --check --json "$f"
  run "$b.surface" surface "$f"
  run "$b.surface-json" surface --json "$f" --openapi "$tmp/openapi.json" --sarif "$tmp/sarif.json"
  mv "$tmp/openapi.json" "$out/$b.openapi.json" 2>/dev/null
  mv "$tmp/sarif.json" "$out/$b.sarif.json" 2>/dev/null
done
# several files at once, and the built-in example
run multi.check check "${files[@]}"
run multi.check-json check --json "${files[@]}"
run multi.sanitize-check sanitize --check "${files[@]}"
run example.diagnose diagnose @example
echo "$(ls "$out" | wc -l) outputs in $out"
