#!/usr/bin/env python3
"""A HAR whose entries each carry their own bearer token and session id (a long capture
with rotating tokens): `gen-tokens.py OUT N` writes N/2 entries, N distinct secrets."""
import json
import sys

out, n = sys.argv[1], int(sys.argv[2])
with open(out, "w") as f:
    f.write('{"log":{"version":"1.2","creator":{"name":"gen-tokens","version":"1"},"entries":[')
    for i in range(n // 2):
        tok = "tk_%016x%016x" % (i * 2654435761 % (1 << 64), i)
        sid = "s%015x%08x" % (i * 40503 % (1 << 60), i)
        e = {
            "startedDateTime": "2026-01-01T00:00:00.000Z",
            "time": 1,
            "request": {
                "method": "GET",
                "url": "https://api.example.test/v1/items/%d" % i,
                "httpVersion": "HTTP/1.1",
                "headers": [
                    {"name": "Authorization", "value": "Bearer " + tok},
                    {"name": "Cookie", "value": "session=" + sid},
                ],
                "cookies": [{"name": "session", "value": sid}],
                "queryString": [],
                "headersSize": -1,
                "bodySize": 0,
            },
            "response": {
                "status": 200,
                "statusText": "OK",
                "httpVersion": "HTTP/1.1",
                "headers": [{"name": "Content-Type", "value": "application/json"}],
                "cookies": [],
                "content": {"size": 20, "mimeType": "application/json", "text": '{"id": %d, "ok": true}' % i},
                "redirectURL": "",
                "headersSize": -1,
                "bodySize": 20,
            },
            "cache": {},
            "timings": {"send": 0, "wait": 1, "receive": 0},
        }
        f.write(("," if i else "") + json.dumps(e, separators=(",", ":")))
    f.write("]}}\n")
