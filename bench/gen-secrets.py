#!/usr/bin/env python3
"""Write a large HAR dense with secrets, made from our own login recordings.

    bench/gen-secrets.py OUT SIZE_MB

Entries are taken round-robin from testdata's recordings of the login site
(example-login.chromium.har, failures.chromium.har, login.mitmproxy.har), and every
entry gets a `Cookie` header and `cookies[]` (session and tracking cookies), an
`Authorization: Bearer` JWT and an `X-Api-Key` if it has none; the recorded bodies keep
their tokens (token responses, PKCE, CSRF, passwords, keys in JSON and forms).

Each copy of an entry gets its own secret values: the planted values of
testdata/site/secrets.json that are long enough to vary (tokens, keys, cookies, states,
JWT signatures) get their last 8 letters or digits replaced by a number of the copy,
character class kept (so the detectors see the same shapes), in every form the recording
holds them (plain, URL-encoded, base64, URL-safe base64, JSON-escaped). Values that
must stay valid (card number, Basic credentials, e-mail, user name, passwords) are kept.

Writes OUT.planted too: one line per string that must not survive sanitizing, with its
form (`form<TAB>string`): for a varied value its fixed part (every variant shares it, so
any copy left shows it), for a JWT its signature's fixed part (the header and the safe
claims are kept by design), each plain, URL-encoded and base64 (standard and URL-safe).
`grep -F -o -f` over the output counts what is left. Streams: memory stays small
whatever SIZE_MB.
"""
import base64, json, os, sys, urllib.parse
from datetime import datetime, timedelta, timezone

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
out_path, size_mb = sys.argv[1], float(sys.argv[2])
sources = [os.path.join(root, "testdata", "har", n) for n in
           ("example-login.chromium.har", "failures.chromium.har", "login.mitmproxy.har")]
planted = json.load(open(os.path.join(root, "testdata", "site", "secrets.json")))["secrets"]

VARY = 8  # letters or digits replaced at the end of a varied value
KEEP = {"card_number", "card_cvc", "admin_basic_credentials", "admin_password", "email",
        "username", "user_password", "nested_password"}


def varied_positions(v):
    """The last VARY letter/digit positions of v (of a JWT: of its signature)."""
    lo = v.rindex(".") + 1 if v.startswith("eyJ") and v.count(".") == 2 else 0
    pos = [i for i in range(len(v) - 1, lo - 1, -1) if v[i].isascii() and v[i].isalnum()]
    return sorted(pos[:VARY])


def forms(v):
    """The spellings of v a recording may hold: plain, URL-encoded, base64 both ways,
    JSON-escaped, and percent-decoded (a cookie written `s%3A…` is also sent `s:…`)."""
    f = {"plain": v, "pct": urllib.parse.quote(v, safe=""),
         "b64": base64.b64encode(v.encode()).decode().rstrip("="),
         "b64url": base64.urlsafe_b64encode(v.encode()).decode().rstrip("="),
         "json": json.dumps(v)[1:-1]}
    d = urllib.parse.unquote(v)
    if d != v:
        f["decoded"] = d
    return f


values = {}  # value -> (name, positions or None)
for s in planted:
    v = s["value"]
    if s["grep"] and len(v) >= 8 and v not in values:
        values[v] = (s["name"], None if s["name"] in KEEP else varied_positions(v))
varied = sorted((v for v, (_, p) in values.items() if p), key=len, reverse=True)

ALPHA = {"d": "0123456789", "u": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "l": "abcdefghijklmnopqrstuvwxyz"}


def variant(v, pos, n, salt):
    """v with its varied positions spelling the number n (one digit per position, in
    the position's own class: digits stay digits, upper case upper case)."""
    chars = list(v)
    for j, i in enumerate(pos):
        c = v[i]
        a = ALPHA["d" if c.isdigit() else "u" if c.isupper() else "l"]
        n, d = divmod(n, len(a))
        chars[i] = a[(d + j * 7 + salt) % len(a)]
    return "".join(chars)


# What to add to every entry (the values of example-login.chromium.har, varied per copy).
def first(name):
    return next(s["value"] for s in planted if s["name"] == name and "har/example-login.chromium.har" in s["found_in"])


jwt, session, api_key = first("access_token_jwt"), first("session_cookie"), first("api_key")
tracking = next(s["value"] for s in planted if s["name"] == "tracking_cookie")
if tracking not in values:
    values[tracking] = ("tracking_cookie", varied_positions(tracking))
    varied = sorted((v for v, (_, p) in values.items() if p), key=len, reverse=True)


def densify(e):
    req = e["request"]
    heads = req.setdefault("headers", [])
    names = {h["name"].lower() for h in heads}
    if "cookie" not in names:
        heads.append({"name": "Cookie", "value": f"sid={session}; trk={tracking}"})
        cookies = req.setdefault("cookies", [])
        cookies += [{"name": "sid", "value": session}, {"name": "trk", "value": tracking}]
    if "authorization" not in names:
        heads.append({"name": "Authorization", "value": "Bearer " + jwt})
    if "x-api-key" not in names:
        heads.append({"name": "X-Api-Key", "value": api_key})
    return e


# Each entry cut once into constant text and the places where a varied value (in one
# of its forms) or startedDateTime goes.
templates = []
for src in sources:
    with open(src, encoding="utf-8-sig") as fh:
        for e in json.load(fh)["log"]["entries"]:
            e = densify(dict(e))
            e.pop("pageref", None)
            e["startedDateTime"] = "@@T@@"
            text = json.dumps(e, indent=2, ensure_ascii=False)
            text = "\n".join("      " + line for line in text.split("\n"))
            parts = [text]
            for k, v in enumerate(varied):
                for form, spelled in forms(v).items():
                    nxt = []
                    for p in parts:
                        if isinstance(p, str) and spelled in p:
                            pieces = p.split(spelled)
                            for i, piece in enumerate(pieces):
                                if i:
                                    nxt.append((k, form))
                                nxt.append(piece)
                        else:
                            nxt.append(p)
                    parts = nxt
            out = []
            for p in parts:
                if isinstance(p, str) and "@@T@@" in p:
                    a, b = p.split("@@T@@")
                    out += [a, None, b]
                else:
                    out.append(p)
            templates.append(out)

start = datetime(2026, 1, 1, tzinfo=timezone.utc)
limit = int(size_mb * 1024 * 1024)
n = 0
written = 0
distinct = set()
with open(out_path, "w", encoding="utf-8") as out:
    out.write('{\n  "log": {\n    "version": "1.2",\n    "creator": {\n      "name": "hark bench/gen-secrets.py",\n      "version": "1"\n    },\n    "pages": [],\n    "entries": [\n')
    while written < limit:
        for t in templates:
            cache = {}
            buf = []
            for p in t:
                if isinstance(p, str):
                    buf.append(p)
                elif p is None:
                    ts = (start + timedelta(milliseconds=n * 10)).isoformat(timespec="milliseconds")
                    buf.append(ts.replace("+00:00", "Z"))
                else:
                    k, form = p
                    if k not in cache:
                        v = varied[k]
                        cache[k] = forms(variant(v, values[v][1], n, k))
                    buf.append(cache[k][form])
            text = "".join(buf)
            if n:
                out.write(",\n")
            out.write(text)
            written += len(text) + 2
            distinct.update((k, n) for k in cache)
            n += 1
            if written >= limit:
                break
    out.write("\n    ]\n  }\n}\n")

# What must not survive: the fixed part of each varied value, each kept value whole.
with open(out_path + ".planted", "w") as f:
    for v, (name, pos) in sorted(values.items()):
        if pos:
            lo = v.rindex(".") + 1 if v.startswith("eyJ") and v.count(".") == 2 else 0
            fixed = v[lo:pos[0]]
        else:
            fixed = v
        if len(fixed) < 8:
            continue
        # base64 of the fixed part, cut where it stops depending on what follows.
        cut = len(fixed.encode()) // 3 * 3
        spell = {"plain": fixed, "pct": urllib.parse.quote(fixed, safe=""),
                 "b64": base64.b64encode(fixed.encode()[:cut]).decode(),
                 "b64url": base64.urlsafe_b64encode(fixed.encode()[:cut]).decode()}
        for form, s in sorted(set(spell.items())):
            if len(s) >= 8:
                f.write(f"{name}:{form}\t{s}\n")
print(f"{out_path}: {n} entries, {os.path.getsize(out_path) / 1e6:.0f} MB, "
      f"{len(distinct)} distinct planted values", file=sys.stderr)
