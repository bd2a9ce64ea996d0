//! HTTP knowledge that every part of hark needs, in one place: `Cookie` and
//! `Set-Cookie` parsing, HTTP dates, which MIME types are text, HTTP version
//! spellings, resource types and failures as browsers record them, and a
//! constant-time comparison for tokens.
//!
//! Each function here has one answer for the whole program: the check, the
//! diagnosis, the viewer, the recorder and the sanitizer ask the same question
//! the same way.

use crate::json::Json;
use crate::model::EntryView;

/// Whether a MIME type is text: `text/*`, JSON (`application/json`, `+json`,
/// `x-ndjson` …), JavaScript and ECMAScript, XML (`+xml`, SVG), forms and GraphQL.
/// Parameters (`; charset=…`) and case do not matter.
pub fn is_textual(mime: &str) -> bool {
    let m = mime.to_ascii_lowercase();
    m.starts_with("text/")
        || m.contains("json")
        || m.contains("javascript")
        || m.contains("ecmascript")
        || m.contains("xml")
        || m.contains("x-www-form-urlencoded")
        || m.contains("graphql")
}

/// The essence of a MIME type (RFC 9110 §8.3.1): `Text/HTML; charset=utf-8` → `text/html`.
pub fn mime_essence(mime: &str) -> String {
    mime.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A MIME type that says nothing: empty, or Chrome's `x-unknown` for failed requests.
pub fn is_unknown_mime(mime: &str) -> bool {
    let m = mime.trim();
    m.is_empty() || m.eq_ignore_ascii_case("x-unknown")
}

/// `HTTP/1.1`, `http/2.0`, `h2`, `HTTP/2` … as one spelling each (`unknown` for an
/// empty version; anything else as written).
pub fn http_version(v: &str) -> String {
    let l = v.trim().to_ascii_lowercase();
    match l.as_str() {
        "" => "unknown".into(),
        "h2" | "http/2" | "http/2.0" => "HTTP/2".into(),
        "h3" | "http/3" | "http/3.0" | "h3-29" => "HTTP/3".into(),
        "http/1.1" => "HTTP/1.1".into(),
        "http/1.0" => "HTTP/1.0".into(),
        "http/0.9" => "HTTP/0.9".into(),
        _ => v.to_string(),
    }
}

/// The `name=value` pairs of a `Cookie` request header, trimmed, in order; a part
/// without `=` is a name with an empty value.
pub fn cookie_pairs(header: &str) -> impl Iterator<Item = (&str, &str)> {
    header.split(';').filter_map(|part| {
        let part = part.trim();
        if part.is_empty() {
            return None;
        }
        let (n, v) = part.split_once('=').unwrap_or((part, ""));
        Some((n.trim(), v.trim()))
    })
}

/// One `Set-Cookie` header value, read as RFC 6265 §5.2 reads it. Attribute values are
/// kept as written (trimmed); see [`parse_http_date`] for `expires`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetCookie<'a> {
    pub name: &'a str,
    pub value: &'a str,
    /// Whether the first part had a `=` (without one, browsers ignore the cookie).
    pub has_eq: bool,
    pub domain: Option<&'a str>,
    pub path: Option<&'a str>,
    pub expires: Option<&'a str>,
    pub max_age: Option<&'a str>,
    pub same_site: Option<&'a str>,
    pub secure: bool,
    pub http_only: bool,
    pub partitioned: bool,
}

impl<'a> SetCookie<'a> {
    /// Read `name=value; Attr=v; Flag`. Unknown attributes are skipped; a repeated
    /// attribute keeps its last value, as browsers do.
    pub fn parse(s: &'a str) -> SetCookie<'a> {
        let mut parts = s.split(';');
        let first = parts.next().unwrap_or("");
        let (name, value, has_eq) = match first.split_once('=') {
            Some((n, v)) => (n.trim(), v.trim(), true),
            None => (first.trim(), "", false),
        };
        let mut c = SetCookie {
            name,
            value,
            has_eq,
            ..SetCookie::default()
        };
        for a in parts {
            let (k, v) = a.split_once('=').unwrap_or((a, ""));
            let v = v.trim();
            let k = k.trim();
            if k.eq_ignore_ascii_case("domain") {
                c.domain = Some(v);
            } else if k.eq_ignore_ascii_case("path") {
                c.path = Some(v);
            } else if k.eq_ignore_ascii_case("expires") {
                c.expires = Some(v);
            } else if k.eq_ignore_ascii_case("max-age") {
                c.max_age = Some(v);
            } else if k.eq_ignore_ascii_case("samesite") {
                c.same_site = Some(v);
            } else if k.eq_ignore_ascii_case("secure") {
                c.secure = true;
            } else if k.eq_ignore_ascii_case("httponly") {
                c.http_only = true;
            } else if k.eq_ignore_ascii_case("partitioned") {
                c.partitioned = true;
            }
        }
        c
    }

    /// `Expires` as milliseconds since the epoch, when it is a date.
    pub fn expires_ms(&self) -> Option<f64> {
        self.expires.and_then(parse_http_date)
    }
}

/// Every cookie of a `Set-Cookie` header value: browsers' exports join several
/// headers' values with newlines.
pub fn set_cookies(value: &str) -> impl Iterator<Item = SetCookie<'_>> {
    value
        .split('\n')
        .filter(|l| !l.trim().is_empty())
        .map(SetCookie::parse)
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// An HTTP date in milliseconds since the epoch. Reads the three forms RFC 9110 §5.6.7
/// names — IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850 (`Sunday,
/// 06-Nov-94 08:49:37 GMT`, two-digit years as RFC 6265 reads them) and asctime
/// (`Sun Nov  6 08:49:37 1994`) — and the day-month-year variants cookies use
/// (`06-Nov-1994`).
pub fn parse_http_date(s: &str) -> Option<f64> {
    let s = s.trim().replace('-', " ");
    let mut toks: Vec<&str> = s.split_whitespace().collect();
    let month_of = |t: &str| {
        let l = t.to_ascii_lowercase();
        MONTHS
            .iter()
            .position(|m| l.starts_with(m))
            .map(|p| p as i64 + 1)
    };
    // A leading weekday: "Sun," "Sunday," or asctime's "Sun".
    if toks.first().is_some_and(|t| {
        t.ends_with(',') || t.chars().all(|c| c.is_ascii_alphabetic()) && month_of(t).is_none()
    }) {
        toks.remove(0);
    }
    let (day, month, year, time) = match toks.as_slice() {
        // asctime: Nov 6 08:49:37 1994
        [mon, d, t, y, ..] if t.contains(':') => (d.parse::<i64>().ok()?, month_of(mon)?, *y, *t),
        [d, mon, y, t, ..] => (d.parse::<i64>().ok()?, month_of(mon)?, *y, *t),
        _ => return None,
    };
    let mut year: i64 = year.parse().ok()?;
    if (0..100).contains(&year) {
        year += if year < 70 { 2000 } else { 1900 };
    }
    let mut t = time.split(':');
    let (h, m, sec): (i64, i64, i64) = (
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
    );
    if !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let iso = format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{sec:02}Z");
    crate::time::parse_ms(&iso)
}

/// Base64 as HAR producers write bodies and as protocols carry payloads (SAML): the
/// standard alphabet with padding, white space (line breaks of wrapped base64) ignored.
/// `None` when it does not decode.
pub fn base64_bytes(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    if text.bytes().any(|b| b.is_ascii_whitespace()) {
        let clean: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        b64.decode(clean).ok()
    } else {
        b64.decode(text).ok()
    }
}

/// Compare two secrets (tokens, passwords) in time that does not depend on where they
/// differ.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() != b.len()) as u8;
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= x ^ y;
    }
    diff == 0
}

/// Why a state-changing request to one of hark's local APIs (the service, the recorder's
/// page markers) is refused as cross-site, if it is: a `Sec-Fetch-Site` other than
/// `same-origin`/`none`, or an `Origin` that is not `own` (the request's `Host`) or is
/// `null`. Scripts and tools send neither; a web page cannot omit them. `header` gives a
/// request header's value by lower-case name.
pub fn cross_site<'a>(
    header: impl Fn(&str) -> Option<&'a str>,
    own: Option<&str>,
) -> Option<String> {
    if let Some(site) = header("sec-fetch-site").map(str::trim) {
        if !site.eq_ignore_ascii_case("same-origin") && !site.eq_ignore_ascii_case("none") {
            return Some(format!("Sec-Fetch-Site: {site}"));
        }
    }
    if let Some(origin) = header("origin").map(str::trim) {
        let authority = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        let same = match (authority, own) {
            (Some(a), Some(h)) => a.trim_end_matches('/').eq_ignore_ascii_case(h.trim()),
            _ => false,
        };
        if !same {
            return Some(format!("Origin: {origin}"));
        }
    }
    None
}

/// Why the body of a state-changing request to one of hark's local APIs is refused, if
/// it is: it must be JSON, since a web page can send the "simple" types (`text/plain`,
/// `multipart/form-data`, `application/x-www-form-urlencoded`) to any site without a CORS
/// preflight; forms pass only where `forms_ok`. A body without `Content-Type` is refused
/// too. `header` gives a request header's value by lower-case name.
pub fn refused_body_type<'a>(
    header: impl Fn(&str) -> Option<&'a str>,
    forms_ok: bool,
) -> Option<String> {
    let has_body = header("content-length")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > 0)
        || header("transfer-encoding").is_some();
    match header("content-type").map(mime_essence).as_deref() {
        None if has_body => Some("a body without Content-Type".into()),
        None => None,
        Some("application/json") => None,
        Some(t) if t.ends_with("+json") => None,
        Some("application/x-www-form-urlencoded") if forms_ok => None,
        Some(t) => Some(format!("Content-Type: {t}")),
    }
}

/// Why the request failed, as the producer recorded it (`_error`, `_failureText`, or
/// status 0), or `None` when it got an answer.
pub fn failure<J: Json>(e: EntryView<'_, J>) -> Option<String> {
    let resp = e.response();
    let text = resp
        .error()
        .or_else(|| resp.0.str("_failureText").filter(|s| !s.is_empty()))
        .or_else(|| e.fields().str("_error").filter(|s| !s.is_empty()))
        .or_else(|| e.fields().str("_failureText").filter(|s| !s.is_empty()));
    let status = resp.status().unwrap_or(0);
    match text {
        Some(t) => Some(t.to_string()),
        None if status <= 0 => Some("no response (status 0)".to_string()),
        None => None,
    }
}

/// The resource type as Chrome names it (`_resourceType`), or guessed from the MIME
/// type and the URL's extension.
pub fn resource_type<J: Json>(e: EntryView<'_, J>) -> String {
    if let Some(t) = e.resource_type() {
        return t;
    }
    let mime = e
        .response()
        .content()
        .mime_type()
        .unwrap_or("")
        .to_ascii_lowercase();
    let url = e.request().url().unwrap_or("");
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let ext = path
        .rsplit('/')
        .next()
        .and_then(|f| f.rsplit_once('.').map(|(_, x)| x));
    if mime.starts_with("text/html") || mime.contains("xhtml") {
        "document"
    } else if mime.contains("css") || ext == Some("css") {
        "stylesheet"
    } else if mime.contains("javascript") || mime.contains("ecmascript") || ext == Some("js") {
        "script"
    } else if mime.starts_with("image/") {
        "image"
    } else if mime.starts_with("font/") || mime.contains("font") {
        "font"
    } else if mime.starts_with("video/") || mime.starts_with("audio/") {
        "media"
    } else if mime.contains("json") || mime.contains("xml") {
        "xhr"
    } else if e.response().status() == Some(101) {
        "websocket"
    } else {
        "other"
    }
    .to_string()
}

/// Undo a `Content-Encoding` (a list, applied in order: `gzip`, `x-gzip`, `deflate` —
/// zlib-wrapped or raw —, `br`; `identity` is skipped), keeping at most `limit` bytes of
/// the result (a compression bomb stops there). A cut body decodes as far as it goes.
pub fn decode_content(encodings: &str, data: &[u8], limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut cur = data.to_vec();
    for enc in encodings.split(',').rev() {
        let enc = enc.trim().to_ascii_lowercase();
        let mut out = Vec::new();
        let res = match enc.as_str() {
            "" | "identity" => continue,
            "gzip" | "x-gzip" => flate2::read::MultiGzDecoder::new(&cur[..])
                .take(limit)
                .read_to_end(&mut out),
            "deflate" => {
                // Servers send zlib-wrapped or raw deflate under this name.
                let r = flate2::read::ZlibDecoder::new(&cur[..])
                    .take(limit)
                    .read_to_end(&mut out);
                if r.is_err() {
                    out.clear();
                    flate2::read::DeflateDecoder::new(&cur[..])
                        .take(limit)
                        .read_to_end(&mut out)
                } else {
                    r
                }
            }
            "br" => brotli_decompressor::Decompressor::new(&cur[..], 64 * 1024)
                .take(limit)
                .read_to_end(&mut out),
            other => return Err(format!("content-encoding {other} is not decoded by hark")),
        };
        if let Err(e) = res {
            if out.is_empty() {
                return Err(format!("{enc} body does not decode: {e}"));
            }
        }
        cur = out;
    }
    Ok(cur)
}

/// File extensions of static assets: scripts, styles, images, fonts, media, source maps.
pub const STATIC_EXTENSIONS: &[&str] = &[
    "js", "mjs", "css", "png", "jpg", "jpeg", "gif", "svg", "ico", "webp", "avif", "woff", "woff2",
    "ttf", "otf", "eot", "map", "mp4", "webm", "mp3",
];

/// A resource type of static assets: script, stylesheet, image, font, media.
pub fn is_static_kind(kind: &str) -> bool {
    matches!(kind, "script" | "stylesheet" | "image" | "font" | "media")
}

/// Whether a file name (a URL's last path segment) ends in one of
/// [`STATIC_EXTENSIONS`], in any case.
pub fn is_static_file_name(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, x)| STATIC_EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(x)))
}

/// Whether the last segment of a URL or path (query and fragment cut off) is a
/// [static file name](is_static_file_name).
pub fn has_static_extension(url: &str) -> bool {
    let path = url.split(['?', '#']).next().unwrap_or("");
    is_static_file_name(path.rsplit('/').next().unwrap_or(""))
}

/// A static asset: its resource type ([`is_static_kind`]) or its URL's extension
/// ([`has_static_extension`]) says so.
pub fn is_static(kind: &str, url: &str) -> bool {
    is_static_kind(kind) || has_static_extension(url)
}

/// Whether an `Accept-Encoding` value accepts `coding` (`gzip`, …): named (or `*`) with
/// a quality above zero.
pub fn accepts_encoding(accept_encoding: &str, coding: &str) -> bool {
    accept_encoding.split(',').any(|part| {
        let mut it = part.split(';');
        let name = it.next().unwrap_or("").trim();
        if !(name.eq_ignore_ascii_case(coding) || name == "*") {
            return false;
        }
        let q = it
            .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
            .next()
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        q > 0.0
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn content_encodings_are_undone_up_to_a_limit() {
        use std::io::Write;
        let text = b"hello hello hello hello".repeat(100);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&text).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(decode_content("gzip", &gz, u64::MAX).unwrap(), text);
        assert_eq!(
            decode_content("identity, GZIP", &gz, u64::MAX).unwrap(),
            text
        );
        assert_eq!(decode_content("gzip", &gz, 10).unwrap(), &text[..10]);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&text).unwrap();
        assert_eq!(
            decode_content("deflate", &z.finish().unwrap(), u64::MAX).unwrap(),
            text
        );
        assert!(decode_content("gzip", b"not gzip", u64::MAX).is_err());
        assert!(decode_content("zstd", b"x", u64::MAX)
            .unwrap_err()
            .contains("zstd"));
    }

    use super::*;

    #[test]
    fn accept_encoding_with_qualities() {
        assert!(accepts_encoding("deflate, gzip", "gzip"));
        assert!(accepts_encoding("br;q=1.0, GZIP;q=0.5", "gzip"));
        assert!(accepts_encoding("*", "gzip"));
        assert!(!accepts_encoding("gzip;q=0", "gzip"));
        assert!(!accepts_encoding("br, deflate", "gzip"));
        assert!(!accepts_encoding("", "gzip"));
    }

    #[test]
    fn textual_types() {
        for t in [
            "text/html; charset=utf-8",
            "application/json",
            "application/vnd.api+json",
            "application/x-ndjson",
            "application/javascript",
            "application/ecmascript",
            "image/svg+xml",
            "application/x-www-form-urlencoded",
            "application/graphql",
            "TEXT/PLAIN",
        ] {
            assert!(is_textual(t), "{t}");
        }
        for t in [
            "image/png",
            "application/octet-stream",
            "font/woff2",
            "",
            "x-unknown",
        ] {
            assert!(!is_textual(t), "{t}");
        }
        assert_eq!(mime_essence(" Text/HTML ; charset=utf-8"), "text/html");
        assert!(is_unknown_mime("x-unknown") && is_unknown_mime(" ") && !is_unknown_mime("a/b"));
    }

    #[test]
    fn static_assets() {
        assert!(is_static("script", "https://a/x"));
        assert!(is_static("other", "https://a/app.JS?v=3#x"));
        assert!(is_static("", "/maps/app.js.map"));
        assert!(!is_static("xhr", "https://a/api/users"));
        assert!(!is_static("", "https://a/js/"));
        assert!(!is_static("", "https://a/search?q=x.js"));
    }

    #[test]
    fn versions() {
        assert_eq!(http_version("h2"), "HTTP/2");
        assert_eq!(http_version("http/2.0"), "HTTP/2");
        assert_eq!(http_version(""), "unknown");
        assert_eq!(http_version("SPDY/3"), "SPDY/3");
    }

    #[test]
    fn cookie_header_pairs() {
        let v: Vec<_> = cookie_pairs(" a=1; b = 2 ;; flag; c=x=y").collect();
        assert_eq!(v, [("a", "1"), ("b", "2"), ("flag", ""), ("c", "x=y")]);
    }

    #[test]
    fn set_cookie_attributes() {
        let c = SetCookie::parse(
            "sid = abc=def ; Path=/app; DOMAIN=.Example.com; Secure; HttpOnly; SameSite=Lax; \
             Max-Age=60; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Partitioned; Foo=bar",
        );
        assert_eq!((c.name, c.value, c.has_eq), ("sid", "abc=def", true));
        assert_eq!(c.path, Some("/app"));
        assert_eq!(c.domain, Some(".Example.com"));
        assert_eq!(c.same_site, Some("Lax"));
        assert_eq!(c.max_age, Some("60"));
        assert!(c.secure && c.http_only && c.partitioned);
        assert_eq!(
            c.expires_ms().map(crate::time::format_s).as_deref(),
            Some("2015-10-21T07:28:00Z")
        );
        let bare = SetCookie::parse("novalue");
        assert_eq!((bare.name, bare.value, bare.has_eq), ("novalue", "", false));
        let all: Vec<_> = set_cookies("a=1; Path=/\nb=2\n").map(|c| c.name).collect();
        assert_eq!(all, ["a", "b"]);
    }

    #[test]
    fn http_dates_in_every_form() {
        let want = Some("1994-11-06T08:49:37Z".to_string());
        for s in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 06-Nov-1994 08:49:37 GMT",
            "06 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(s).map(crate::time::format_s), want, "{s}");
        }
        assert_eq!(
            parse_http_date("Thu, 01 Jan 2037 00:00:00 GMT").map(crate::time::format_s),
            Some("2037-01-01T00:00:00Z".into())
        );
        for bad in [
            "",
            "0",
            "tomorrow",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 1:2:3",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
        assert!(!same_secret(b"", b"a"));
    }
}
