"""Reads what `hark export --to parquet` and `--to jsonl` wrote for HAR files with PyPI's
pyarrow and duckdb and checks every row against the source entries.

Usage: export_check.py OUT.parquet OUT.jsonl HAR...   (exits non-zero with the reasons)
"""
import datetime
import json
import sys

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

parquet_path, jsonl_path, hars = sys.argv[1], sys.argv[2], sys.argv[3:]
problems = []


def problem(msg):
    problems.append(msg)
    if len(problems) > 30:
        print("\n".join(problems))
        sys.exit(1)


table = pq.read_table(parquet_path)
schema = table.schema
nv = pa.list_(pa.field("element", pa.struct([pa.field("name", pa.string(), False), pa.field("value", pa.string(), False)]), False))
expect_types = {
    "source": pa.string(), "entry": pa.int64(), "started": pa.timestamp("us", tz="UTC"),
    "method": pa.string(), "port": pa.int32(), "status": pa.int32(), "request_headers": nv,
    "response_cookies": nv, "wait": pa.float64(), "transfer_size": pa.int64(),
}
for name, ty in expect_types.items():
    if not schema.field(name).type.equals(ty):
        problem(f"column {name}: {schema.field(name).type}, want {ty}")

meta = pq.ParquetFile(parquet_path).metadata
for rg in range(meta.num_row_groups):
    col = meta.row_group(rg).column(schema.get_field_index("host"))
    if "RLE_DICTIONARY" not in col.encodings:
        problem(f"row group {rg}: host is not dictionary-encoded: {col.encodings}")

rows = table.to_pylist()
lines = [json.loads(l) for l in open(jsonl_path, encoding="utf-8")]
if len(lines) != len(rows):
    problem(f"jsonl has {len(lines)} rows, parquet {len(rows)}")


def started_us(s):
    try:
        d = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    if d.tzinfo is None:
        return None
    return d


def known(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 else None


by_source = {}
for i, r in enumerate(rows):
    by_source.setdefault(r["source"], []).append(r)
    j = lines[i] if i < len(lines) else {}
    for k in ("source", "entry", "method", "url", "status", "host", "path", "template", "request_headers", "wait"):
        if j.get(k) != r[k]:
            problem(f"row {i}: jsonl {k}={j.get(k)!r}, parquet {r[k]!r}")

total = 0
for har in hars:
    with open(har, encoding="utf-8-sig") as f:
        entries = json.load(f)["log"].get("entries", [])
    got = by_source.get(har, [])
    total += len(entries)
    if len(got) != len(entries):
        problem(f"{har}: {len(got)} rows for {len(entries)} entries")
        continue
    for k, (e, r) in enumerate(zip(entries, got)):
        where = f"{har} entry {k}"
        req, res = e.get("request", {}), e.get("response", {})
        if r["entry"] != k:
            problem(f"{where}: entry column {r['entry']}")
        if r["method"] != req.get("method", ""):
            problem(f"{where}: method {r['method']!r}")
        if r["url"] != req.get("url", ""):
            problem(f"{where}: url {r['url']!r}")
        if r["status"] != res.get("status"):
            problem(f"{where}: status {r['status']!r} != {res.get('status')!r}")
        if r["status_text"] != res.get("statusText"):
            problem(f"{where}: status_text {r['status_text']!r}")
        if r["page"] != e.get("pageref"):
            problem(f"{where}: page {r['page']!r}")
        if r["server_ip"] != e.get("serverIPAddress"):
            problem(f"{where}: server_ip {r['server_ip']!r}")
        want = started_us(e.get("startedDateTime"))
        if want is not None and (r["started"] is None or abs((r["started"] - want).total_seconds()) > 1e-3):
            problem(f"{where}: started {r['started']!r} != {want!r}")
        hs = [{"name": h.get("name"), "value": h.get("value")} for h in req.get("headers", [])]
        if r["request_headers"] != hs:
            problem(f"{where}: request headers differ")
        hs = [{"name": h.get("name"), "value": h.get("value")} for h in res.get("headers", [])]
        if r["response_headers"] != hs:
            problem(f"{where}: response headers differ")
        t = e.get("timings", {})
        for phase in ("blocked", "dns", "connect", "ssl", "send", "wait", "receive"):
            w = known(t.get(phase))
            if (w is None) != (r[phase] is None) or (w is not None and abs(w - r[phase]) > 1e-6):
                problem(f"{where}: {phase} {r[phase]!r} != {t.get(phase)!r}")
        if known(res.get("bodySize")) != r["response_body_size"]:
            problem(f"{where}: response_body_size {r['response_body_size']!r}")
        mime = res.get("content", {}).get("mimeType")
        if r["mime"] != mime:
            problem(f"{where}: mime {r['mime']!r}")
if len(rows) != total:
    problem(f"{len(rows)} rows for {total} entries")

# DuckDB reads the same file, and the JSON lines.
con = duckdb.connect()
n = con.execute(f"select count(*) from read_parquet('{parquet_path}')").fetchone()[0]
if n != total:
    problem(f"duckdb: {n} rows")
per_file = dict(con.execute(f"select source, count(*) from read_parquet('{parquet_path}') group by source").fetchall())
for har in hars:
    if per_file.get(har, 0) != len(by_source.get(har, [])):
        problem(f"duckdb: {har}: {per_file.get(har)} rows")
n = con.execute(f"select count(*) from read_json_auto('{jsonl_path}', maximum_object_size=100000000)").fetchone()[0]
if n != total:
    problem(f"duckdb jsonl: {n} rows")
errors = con.execute(
    f"select count(*) from read_parquet('{parquet_path}') where status >= 400 or error is not null"
).fetchone()[0]
header_rows = con.execute(
    f"select count(*) from (select unnest(request_headers) as h from read_parquet('{parquet_path}')) where h.name is not null"
).fetchone()[0]
want_headers = sum(len(r["request_headers"]) for r in rows)
if header_rows != want_headers:
    problem(f"duckdb: {header_rows} request headers unnested, want {want_headers}")

if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"ok: {total} rows from {len(hars)} files, {meta.num_row_groups} row groups, {errors} failed requests")
