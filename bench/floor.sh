#!/usr/bin/env bash
# The JSON-parsing floor on this machine for one HAR: prints one JSON object with the
# times of bench/floor (reading; one memchr pass; simd-json's tape; sonic-rs pulling the
# summary's fields; serde_json; hark's detectors alone), of hark's own tokenizer
# (`hark fmt --compact -j1`, best wall time of RUNS), and the fastest single pass of those. bench/diagnose.sh and bench/sanitize.sh set their targets
# against it.
#
#   bench/floor.sh FILE [RUNS]        (RUNS default 3)
#
# bench/floor is built with -C target-cpu=native so that simd-json and sonic-rs use the
# widest SIMD this CPU has (their best case; hark itself is built for baseline x86-64).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
file=$1
runs=${2:-3}
RUSTFLAGS="-C target-cpu=native" cargo build --release -q \
  --manifest-path "$root/bench/floor/Cargo.toml" --target-dir "$root/bench/floor/target" >&2
cargo build --release -q -p hark-cli --manifest-path "$root/Cargo.toml" >&2
target=$(cargo metadata --format-version 1 --no-deps --manifest-path "$root/Cargo.toml" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
floor=$("$root/bench/floor/target/release/hark-bench-floor" "$file" "$runs")
best=
for _ in $(seq "$runs"); do
  s=$( { /usr/bin/time -f "%e" "$target/release/hark" fmt --compact -j1 "$file" >/dev/null; } 2>&1 | tail -n 1)
  best=$(python3 -c "print(min(float('$s'), float('${best:-1e9}')))")
done
# fastest_pass_ms: the fastest single pass over the file of those measured (simd-json's
# tape, sonic-rs's lazy fields, or hark's own tokenizer with its read and write), the
# unit the bench scripts set their targets against.
python3 - "$floor" "$best" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
d["hark_fmt_compact_j1_ms"] = round(float(sys.argv[2]) * 1000, 1)
passes = {"simd-json tape": d["simd_json_tape_ms"], "sonic-rs fields": d["sonic_fields_ms"],
          "hark fmt --compact -j1": d["hark_fmt_compact_j1_ms"]}
d["fastest_pass"] = min(passes, key=passes.get)
d["fastest_pass_ms"] = passes[d["fastest_pass"]]
print(json.dumps(d))
PY
