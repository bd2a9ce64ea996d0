//! One entry's details, read back from the file on demand and turned into the JSON the
//! details pane shows: headers (and raw), parameters, cookies, body (as text; a
//! [`preview`] document for a sandboxed frame), timings, JWTs found anywhere in the
//! exchange, WebSocket messages, and a curl command.

use base64::Engine;
use har::{EntryView, Json, Lite, Obj};
use serde_json::{json, Map, Value};

/// Bodies larger than this are cut in the details (the raw entry is still available).
pub const MAX_BODY_TEXT: usize = 16 << 20;

/// Image types the `/image` route serves. SVG is not among them: it can carry script (it
/// is previewed only inside the sandboxed frame, see [`preview`]).
pub const IMAGE_TYPES: [&str; 6] = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/avif",
    "image/x-icon",
];

pub fn image_mime(mime: &str) -> Option<&'static str> {
    let m = har::http::mime_essence(mime);
    let m = if m == "image/jpg" {
        "image/jpeg".into()
    } else {
        m
    };
    IMAGE_TYPES.iter().copied().find(|t| *t == m)
}

fn pairs<'a, J: Json + 'a>(nv: har::NameValues<'a, J>) -> Value {
    Value::Array(
        nv.iter()
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect(),
    )
}

fn cookie_json<J: Json>(c: har::Cookie<'_, J>) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), c.name().unwrap_or("").into());
    m.insert("value".into(), c.value().unwrap_or("").into());
    for (k, v) in [
        ("path", c.path()),
        ("domain", c.domain()),
        ("expires", c.expires()),
        ("sameSite", c.same_site()),
    ] {
        if let Some(v) = v {
            m.insert(k.into(), v.into());
        }
    }
    if let Some(b) = c.http_only() {
        m.insert("httpOnly".into(), b.into());
    }
    if let Some(b) = c.secure() {
        m.insert("secure".into(), b.into());
    }
    Value::Object(m)
}

/// A `Set-Cookie` read (by [`har::http::SetCookie`]) into the same shape as HAR cookies.
fn set_cookie_json(c: &har::http::SetCookie<'_>) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), c.name.into());
    m.insert("value".into(), c.value.into());
    let attrs = [
        ("path", c.path),
        ("domain", c.domain),
        ("expires", c.expires),
        ("maxAge", c.max_age),
        ("sameSite", c.same_site),
    ];
    for (k, v) in attrs {
        if let Some(v) = v {
            m.insert(k.into(), v.into());
        }
    }
    for (k, on) in [("httpOnly", c.http_only), ("secure", c.secure)] {
        if on {
            m.insert(k.into(), true.into());
        }
    }
    Value::Object(m)
}

fn url_decode(s: &str) -> String {
    har::pct::decode_lossy(s, true)
}

fn parse_urlencoded(s: &str) -> Value {
    Value::Array(
        s.split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (n, v) = p.split_once('=').unwrap_or((p, ""));
                json!({"name": url_decode(n), "value": url_decode(v)})
            })
            .collect(),
    )
}

/// What the body is, for the details pane: how to show it.
fn body_kind(mime: &str, text: &str) -> &'static str {
    let m = mime.to_ascii_lowercase();
    if m.contains("json") {
        return "json";
    }
    if m.contains("svg") {
        return "xml";
    }
    if m.contains("html") {
        return "html";
    }
    if m.contains("javascript") || m.contains("ecmascript") {
        return "js";
    }
    if m.contains("css") {
        return "css";
    }
    if m.contains("xml") {
        return "xml";
    }
    let t = text.trim_start();
    if (t.starts_with('{') || t.starts_with('[')) && serde_json::from_str::<Value>(text).is_ok() {
        return "json";
    }
    "text"
}

/// The body as text (decoded from base64 when it is UTF-8), or a note why not.
fn body<J: Json>(content: har::Content<'_, J>) -> Value {
    let mime = content.mime_type().unwrap_or("");
    let Some(text) = content.text() else {
        return json!({"kind": "none", "mimeType": mime});
    };
    let decoded: Option<Vec<u8>> = if content.is_base64() {
        har::http::base64_bytes(text)
    } else {
        None
    };
    if image_mime(mime).is_some() {
        return json!({"kind": "image", "preview": "image", "mimeType": mime, "bytes": decoded.as_ref().map_or(text.len(), |d| d.len())});
    }
    let (s, bytes): (std::borrow::Cow<'_, str>, usize) = match &decoded {
        Some(d) => match std::str::from_utf8(d) {
            Ok(s) => (s.into(), d.len()),
            Err(_) => {
                let hex: Vec<String> = d.iter().take(512).map(|b| format!("{b:02x}")).collect();
                return json!({"kind": "binary", "preview": preview_kind(mime), "mimeType": mime, "bytes": d.len(), "hex": hex.join(" ")});
            }
        },
        None => (text.into(), text.len()),
    };
    let truncated = s.len() > MAX_BODY_TEXT;
    let shown = if truncated {
        let mut end = MAX_BODY_TEXT;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        &s[..end]
    } else {
        &s[..]
    };
    json!({
        "kind": body_kind(mime, shown),
        "preview": preview_kind(mime),
        "mimeType": mime,
        "bytes": bytes,
        "base64": content.is_base64(),
        "truncated": truncated,
        "text": shown,
    })
}

// "Copy as curl" is `hark export --to curl`'s command (one home for the quoting rules,
// tested by running curl against an echo server in crates/cli/tests/export.rs).
pub use export::code::{curl_command as curl, sh_quote};

/// The request line and headers as they would be on the wire (HTTP/1.1 style).
fn raw_request<J: Json>(req: har::Request<'_, J>) -> String {
    let url = req.url().unwrap_or("");
    let path = match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            match rest.find(['/', '?']) {
                Some(j) => &rest[j..],
                None => "/",
            }
        }
        None => url,
    };
    let path = path.split('#').next().unwrap_or(path);
    let mut s = format!(
        "{} {} {}\n",
        req.method().unwrap_or("GET"),
        path,
        req.http_version().unwrap_or("HTTP/1.1")
    );
    for (n, v) in req.headers().iter() {
        s.push_str(&format!("{n}: {v}\n"));
    }
    s
}

fn raw_response<J: Json>(resp: har::Response<'_, J>) -> String {
    let mut s = format!(
        "{} {} {}\n",
        resp.http_version().unwrap_or("HTTP/1.1"),
        resp.status().unwrap_or(0),
        resp.status_text().unwrap_or("")
    );
    for (n, v) in resp.headers().iter() {
        s.push_str(&format!("{n}: {v}\n"));
    }
    s
}

fn jwts<J: Json>(e: EntryView<'_, J>, resp_text: Option<&str>) -> Value {
    let mut out: Vec<Value> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut scan = |text: &str, place: String| {
        for (_, t) in jwt::find_all(text) {
            if !seen.insert(t.raw.to_string()) {
                continue;
            }
            let iso = |x: Option<f64>| x.map(|s| har::time::format_ms(s * 1000.0));
            out.push(json!({
                "where": place,
                "token": t.raw,
                "header": Value::Object(t.header.clone()),
                "claims": Value::Object(t.claims.clone()),
                "alg": t.alg(),
                "exp": iso(t.exp()),
                "iat": iso(t.iat()),
                "nbf": iso(t.nbf()),
            }));
        }
    };
    let req = e.request();
    scan(req.url().unwrap_or(""), "request URL".into());
    for (n, v) in req.headers().iter() {
        scan(v, format!("request header {n}"));
    }
    for c in req.cookies() {
        scan(
            c.value().unwrap_or(""),
            format!("request cookie {}", c.name().unwrap_or("")),
        );
    }
    if let Some(t) = req.post_data().and_then(|p| p.text()) {
        scan(t, "request body".into());
    }
    let resp = e.response();
    for (n, v) in resp.headers().iter() {
        scan(v, format!("response header {n}"));
    }
    for c in resp.cookies() {
        scan(
            c.value().unwrap_or(""),
            format!("response cookie {}", c.name().unwrap_or("")),
        );
    }
    if let Some(l) = resp.redirect_url() {
        scan(l, "redirect URL".into());
    }
    if let Some(t) = resp_text {
        if t.len() <= 4 << 20 {
            scan(t, "response body".into());
        }
    }
    Value::Array(out)
}

/// The details of entry `index`, parsed from its bytes.
pub fn details(index: usize, bytes: &[u8]) -> Result<Value, har::transcode::TranscodeError> {
    let tree: Lite<'_> = har::lite::parse(bytes)?;
    let e = EntryView(Obj::of(Some(&tree)));
    let req = e.request();
    let resp = e.response();
    let url = req.url().unwrap_or("");

    let query = query_json(req, url);
    let post = post_json(req);
    let req_cookies = request_cookies(req);
    let resp_cookies = response_cookies(resp);

    let content = resp.content();
    let body = body(content);
    let body_text = body.get("text").and_then(Value::as_str);
    let jwts = jwts(e, body_text);

    let t = e.timings();
    let timings: Map<String, Value> = t
        .phases()
        .iter()
        .map(|(k, v)| (k.to_string(), v.map_or(Value::Null, |x| json!(x))))
        .collect();

    let ws = websocket_json(e);

    Ok(json!({
        "index": index,
        "startedDateTime": e.started_date_time(),
        "time": e.time(),
        "pageref": e.pageref(),
        "serverIPAddress": e.server_ip_address(),
        "connection": e.fields().str("connection"),
        "resourceType": har::http::resource_type(e),
        "priority": e.fields().str("_priority"),
        "initiator": initiator_json(e.fields().obj("_initiator")),
        "failure": har::http::failure(e),
        "request": {
            "method": req.method(),
            "url": url,
            "httpVersion": req.http_version(),
            "headers": pairs(req.headers()),
            "headersSize": req.headers_size(),
            "bodySize": req.body_size(),
            "raw": raw_request(req),
            "query": query,
            "postData": post,
            "cookies": req_cookies,
        },
        "response": {
            "status": resp.status(),
            "statusText": resp.status_text(),
            "httpVersion": resp.http_version(),
            "headers": pairs(resp.headers()),
            "headersSize": resp.headers_size(),
            "bodySize": resp.body_size(),
            "transferSize": resp.transfer_size(),
            "redirectURL": resp.redirect_url(),
            "raw": raw_response(resp),
            "cookies": resp_cookies,
            "content": {
                "size": content.size(),
                "compression": content.compression(),
                "mimeType": content.mime_type(),
                "encoding": content.encoding(),
            },
            "body": body,
        },
        "timings": timings,
        "jwts": jwts,
        "websocket": ws,
        "curl": curl(e),
    }))
}

/// Chrome's `_initiator`: its type, URL and line, and the call stack (frames of the
/// stack and its async parents, at most 100).
fn initiator_json<J: Json>(o: Obj<'_, J>) -> Value {
    if o.get("type").is_none() && o.get("url").is_none() && o.get("stack").is_none() {
        return Value::Null;
    }
    let mut frames = Vec::new();
    let mut stack = o.obj("stack");
    let mut depth = 0;
    while depth < 20 && frames.len() < 100 {
        if let Some(d) = stack.str("description").filter(|d| !d.is_empty()) {
            frames.push(json!({"async": d}));
        }
        for f in stack
            .arr("callFrames")
            .iter()
            .take(100 - frames.len().min(100))
        {
            let f = Obj::of(Some(f));
            frames.push(json!({
                "function": f.str("functionName").unwrap_or(""),
                "url": f.str("url").unwrap_or(""),
                "line": f.num("lineNumber").map(|l| l + 1.0),
                "column": f.num("columnNumber").map(|c| c + 1.0),
            }));
        }
        match stack.get("parent") {
            Some(_) => stack = stack.obj("parent"),
            None => break,
        }
        depth += 1;
    }
    json!({
        "type": o.str("type"),
        "url": o.str("url"),
        "line": o.num("lineNumber").map(|l| l + 1.0),
        "short": crate::index::initiator_short(o),
        "stack": frames,
    })
}

/// The image bytes of entry's response, when it is one of [`IMAGE_TYPES`].
pub fn image(bytes: &[u8]) -> Option<(&'static str, Vec<u8>)> {
    let tree = har::lite::parse(bytes).ok()?;
    let e = EntryView(Obj::of(Some(&tree)));
    let c = e.response().content();
    let mime = image_mime(c.mime_type()?)?;
    let data = c.bytes()?.into_owned();
    Some((mime, data))
}

/// The query string as recorded, else read from the URL.
fn query_json<J: Json>(req: har::Request<'_, J>, url: &str) -> Value {
    let query = pairs(req.query_string());
    if query.as_array().is_some_and(Vec::is_empty) {
        if let Some((_, q)) = url.split('#').next().unwrap_or("").split_once('?') {
            return parse_urlencoded(q);
        }
    }
    query
}

/// The request body: its text, how to show it, and its form parameters (as recorded,
/// else read from a urlencoded text).
fn post_json<J: Json>(req: har::Request<'_, J>) -> Option<Value> {
    req.post_data().map(|p| {
        let mime = p.mime_type().unwrap_or("");
        let mut params = pairs(p.params());
        if params.as_array().is_some_and(Vec::is_empty) && mime.contains("x-www-form-urlencoded") {
            params = parse_urlencoded(p.text().unwrap_or(""));
        }
        let text = p.text().unwrap_or("");
        json!({
            "mimeType": mime,
            "text": text,
            "kind": body_kind(mime, text),
            "params": params,
        })
    })
}

/// The request's cookies as recorded, else read from its `Cookie` headers.
fn request_cookies<J: Json>(req: har::Request<'_, J>) -> Vec<Value> {
    let mut cookies: Vec<Value> = req.cookies().map(cookie_json).collect();
    if cookies.is_empty() {
        for v in req.headers().get_all("cookie") {
            let named = har::http::cookie_pairs(v).filter(|(n, _)| !n.is_empty());
            cookies.extend(named.map(|(n, val)| json!({"name": n, "value": val})));
        }
    }
    cookies
}

/// The response's cookies as recorded, else read from its `Set-Cookie` headers.
fn response_cookies<J: Json>(resp: har::Response<'_, J>) -> Vec<Value> {
    let mut cookies: Vec<Value> = resp.cookies().map(cookie_json).collect();
    if cookies.is_empty() {
        for v in resp.headers().get_all("set-cookie") {
            cookies.extend(har::http::set_cookies(v).map(|c| set_cookie_json(&c)));
        }
    }
    cookies
}

/// `_webSocketMessages`, as the details pane lists them.
fn websocket_json<J: Json>(e: EntryView<'_, J>) -> Vec<Value> {
    e.custom("_webSocketMessages")
        .and_then(Json::as_array)
        .map(|msgs| {
            msgs.iter()
                .map(|m| {
                    let o = Obj::of(Some(m));
                    json!({
                        "type": o.str("type").unwrap_or(""),
                        "time": o.num("time"),
                        "opcode": o.int("opcode"),
                        "data": o.str("data").unwrap_or(""),
                    })
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
}

/// The policy of a preview document: sandboxed (no scripts, no forms, no plugins, no
/// navigation of the viewer, an opaque origin) and nothing loaded but the `data:` URLs the
/// preview itself holds.
pub const PREVIEW_CSP: &str = "sandbox; default-src 'none'; img-src data:; media-src data:; font-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

/// Bodies larger than this are not previewed.
pub const MAX_PREVIEW: usize = 16 << 20;

/// What kind of preview a response allows: `image` (raster or SVG), `font`, `media`
/// (audio, video) or `html`.
pub fn preview_kind(mime: &str) -> Option<&'static str> {
    let m = har::http::mime_essence(mime);
    if image_mime(&m).is_some() || m == "image/svg+xml" {
        Some("image")
    } else if m.starts_with("font/")
        || m.contains("font-woff")
        || m.contains("x-font")
        || m == "application/vnd.ms-fontobject"
    {
        Some("font")
    } else if m.starts_with("audio/") || m.starts_with("video/") {
        Some("media")
    } else if m == "text/html" || m == "application/xhtml+xml" {
        Some("html")
    } else {
        None
    }
}

/// The preview document of an entry's response (served under [`PREVIEW_CSP`] into a
/// sandboxed frame): an HTML response as it is (it runs nothing there and loads
/// nothing); an image, font or media file inside a fixed page of ours, as a `data:` URL
/// of base64 we encode ourselves (no string from the HAR is put into our page).
pub fn preview(bytes: &[u8]) -> Option<(String, Vec<u8>)> {
    let tree = har::lite::parse(bytes).ok()?;
    let e = EntryView(Obj::of(Some(&tree)));
    let c = e.response().content();
    let mime_raw = c.mime_type()?;
    let kind = preview_kind(mime_raw)?;
    let data = c.bytes()?.into_owned();
    if data.len() > MAX_PREVIEW {
        return None;
    }
    if kind == "html" {
        return Some(("text/html; charset=utf-8".into(), data));
    }
    // The type of the data URL: the essence, only when it is a plain token/token.
    let mime = har::http::mime_essence(mime_raw);
    let safe = mime.split('/').count() == 2
        && mime
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/.+-".contains(&b));
    if !safe {
        return None;
    }
    let url = format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&data)
    );
    let body = match kind {
        "image" => format!("<img alt=\"\" src=\"{url}\">"),
        "font" => format!(
            "<style>@font-face{{font-family:preview;src:url(\"{url}\")}}p{{font-family:preview;font-size:28px;margin:8px 0}}</style>\
             <p>The quick brown fox jumps over the lazy dog</p><p>ABCDEFGHIJKLMNOPQRSTUVWXYZ</p>\
             <p>abcdefghijklmnopqrstuvwxyz 0123456789</p>"
        ),
        _ if mime.starts_with("audio/") => format!("<audio controls src=\"{url}\"></audio>"),
        _ => format!("<video controls src=\"{url}\" style=\"max-width:100%\"></video>"),
    };
    let doc = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><style>body{{margin:8px;font-family:sans-serif}}img{{max-width:100%;background:repeating-conic-gradient(#eee 0 25%,#fff 0 50%) 0 0/16px 16px}}</style></head><body>{body}</body></html>"
    );
    Some(("text/html; charset=utf-8".into(), doc.into_bytes()))
}
