#!/usr/bin/env python3
"""Write a large HAR made of real entries, for benchmarks.

    bench/gen-har.py OUT SIZE_MB [--source FILE ...]

Entries are taken round-robin from real recordings (../shared/corpus/public and
testdata/har by default: Chrome, Firefox, Safari, Charles, Insomnia, mitmproxy,
Sauce Labs, WebPageTest, Playwright), with startedDateTime advanced so the file stays
sorted, pretty-printed with 2-space indentation like browser exports. Streams: memory
stays small whatever SIZE_MB.
"""
import argparse, glob, json, os, sys
from datetime import datetime, timedelta, timezone

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("size_mb", type=float)
ap.add_argument("--source", nargs="*")
a = ap.parse_args()
sources = a.source or sorted(glob.glob(os.path.join(root, "..", "shared", "corpus", "public", "*.har"))) + sorted(glob.glob(os.path.join(root, "testdata", "har", "*.har")))
entries = []
for f in sources:
    with open(f, encoding="utf-8-sig") as fh:
        entries += json.load(fh)["log"]["entries"]
if not entries:
    sys.exit("no entries found")
# Each entry pre-rendered once, indented for its place in log.entries.
start = datetime(2026, 1, 1, tzinfo=timezone.utc)
limit = int(a.size_mb * 1024 * 1024)
with open(a.out, "w", encoding="utf-8") as out:
    out.write('{\n  "log": {\n    "version": "1.2",\n    "creator": {\n      "name": "hark bench/gen-har.py",\n      "version": "1"\n    },\n    "pages": [],\n    "entries": [\n')
    n = 0
    written = 0
    while written < limit:
        for e in entries:
            e = dict(e)
            e["startedDateTime"] = (start + timedelta(milliseconds=n * 10)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            e.pop("pageref", None)
            text = json.dumps(e, indent=2, ensure_ascii=False)
            text = "\n".join("      " + line for line in text.split("\n"))
            if n:
                out.write(",\n")
            out.write(text)
            written += len(text) + 2
            n += 1
            if written >= limit:
                break
    out.write("\n    ]\n  }\n}\n")
print(f"{a.out}: {n} entries, {os.path.getsize(a.out) / 1e6:.0f} MB", file=sys.stderr)
