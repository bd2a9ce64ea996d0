//! Requests as code: one snippet per entry for `curl`, HTTPie, Python `requests`,
//! JavaScript `fetch`, or one k6 script. Every generator works from the same
//! [`Request`] — the request as it went on the wire, minus what the client itself must
//! write — so what each one sends is the same.
//!
//! Escaping rules (the viewer's "Copy as curl" follows the shell ones):
//! - shell: [`sh_quote`] — bare when only `[A-Za-z0-9-_./:=@,+%]`, otherwise single
//!   quotes with `'` written `'\''`; the URL goes after `--url` so that one starting
//!   with `-` is never an option; a body that is not UTF-8 or holds NUL (which no
//!   command line can carry) is piped in as base64 (`base64 -d | curl --data-binary @-`).
//! - Python: [`py_str`] — double quotes, every character outside printable ASCII as
//!   `\xNN`, `\uNNNN` or `\UNNNNNNNN`; bodies are bytes (`"…".encode()` or
//!   `base64.b64decode("…")`).
//! - JavaScript: JSON string literals; binary bodies decoded from base64.

mod curl;
mod fetch;
mod httpie;
mod k6;
mod python;

use base64::Engine;
use har::{EntryView, Json};
use std::io::Write;

/// The code formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Curl,
    Httpie,
    Python,
    Fetch,
    K6,
}

/// Headers never written: HTTP/2 pseudo-headers (`:authority` …) and the ones each
/// client computes itself (length, host, connection management).
const DROPPED: &[&str] = &[
    "content-length",
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "expect",
];

/// The request an entry describes, as it went on the wire.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub method: String,
    /// Without its `#fragment` (never sent).
    pub url: String,
    /// In recorded order, repeated names kept; `Cookie` built from `request.cookies`
    /// when the headers have none.
    pub headers: Vec<(String, String)>,
    /// `postData.text` (UTF-8), or its bytes when `_encoding`/`encoding` is `base64`,
    /// or the URL-encoded `params` of a form without `text`.
    pub body: Option<Vec<u8>>,
    /// The request carried `Accept-Encoding`: curl gets `--compressed`.
    pub compressed: bool,
}

impl Request {
    pub fn of<J: Json>(e: EntryView<'_, J>) -> Request {
        let req = e.request();
        let url = req.url().unwrap_or("");
        let url = url.split('#').next().unwrap_or(url).to_string();
        let mut headers = Vec::new();
        let mut compressed = false;
        let mut has_cookie = false;
        for (n, v) in req.headers().iter() {
            let lower = n.to_ascii_lowercase();
            if n.starts_with(':') || n.is_empty() || DROPPED.contains(&lower.as_str()) {
                continue;
            }
            compressed |= lower == "accept-encoding";
            has_cookie |= lower == "cookie";
            headers.push((n.to_string(), v.to_string()));
        }
        if !has_cookie {
            let pairs: Vec<String> = req
                .cookies()
                .filter_map(|c| Some(format!("{}={}", c.name()?, c.value().unwrap_or(""))))
                .collect();
            if !pairs.is_empty() {
                headers.push(("Cookie".into(), pairs.join("; ")));
            }
        }
        let body = req.post_data().and_then(|p| {
            let base64 = [p.0.str("_encoding"), p.0.str("encoding")]
                .iter()
                .any(|e| e.is_some_and(|e| e.eq_ignore_ascii_case("base64")));
            match p.text() {
                Some(t) if base64 => har::http::base64_bytes(t),
                Some(t) if !t.is_empty() => Some(t.as_bytes().to_vec()),
                _ if !p.params().is_empty()
                    && p.mime_type().is_some_and(|m| m.contains("urlencoded")) =>
                {
                    let mut f = url::form_urlencoded::Serializer::new(String::new());
                    for (n, v) in p.params().iter() {
                        f.append_pair(n, v);
                    }
                    Some(f.finish().into_bytes())
                }
                _ => None,
            }
        });
        let method = req.method().filter(|m| !m.is_empty()).unwrap_or("GET");
        Request {
            method: method.to_string(),
            url,
            headers,
            body: body.filter(|b| !b.is_empty()),
            compressed,
        }
    }

    /// The body as text when it is UTF-8 without NUL (a command line cannot hold NUL).
    pub fn text_body(&self) -> Option<&str> {
        let b = self.body.as_deref()?;
        std::str::from_utf8(b).ok().filter(|t| !t.contains('\0'))
    }

    pub fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// Headers with repeated names joined (`; ` for Cookie, `, ` otherwise), first
    /// spelling and position kept: for clients whose headers are a map.
    pub fn joined_headers(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (n, v) in &self.headers {
            match out.iter_mut().find(|(o, _)| o.eq_ignore_ascii_case(n)) {
                Some((_, old)) => {
                    old.push_str(if n.eq_ignore_ascii_case("cookie") {
                        "; "
                    } else {
                        ", "
                    });
                    old.push_str(v);
                }
                None => out.push((n.clone(), v.clone())),
            }
        }
        out
    }
}

/// The body as base64 (for binary bodies).
pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A one-line comment text: control characters (a newline would end the comment) as `?`.
pub(crate) fn comment_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Quote for a POSIX shell: bare when only `[A-Za-z0-9-_./:=@,+%]`, otherwise single
/// quotes with `'` written `'\''`.
pub fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@,+%".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A Python string literal: printable ASCII as is, everything else escaped.
pub fn py_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ' '..='~' => out.push(c),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// A JavaScript string literal (JSON's, valid in every ES2019+ engine).
pub fn js_str(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// A header value for JavaScript clients, whose header strings are byte strings (each
/// character one byte): non-ASCII text as its UTF-8 bytes, one character each.
pub fn js_header(s: &str) -> String {
    if s.is_ascii() {
        return js_str(s);
    }
    let bytes: String = s.bytes().map(char::from).collect();
    js_str(&bytes)
}

/// Writes the snippets of one or more files: a preamble once, one snippet per entry, an
/// ending once.
pub struct CodeWriter<W: Write> {
    out: W,
    lang: Lang,
    started: bool,
    count: usize,
}

impl<W: Write> CodeWriter<W> {
    pub fn new(out: W, lang: Lang) -> Self {
        CodeWriter {
            out,
            lang,
            started: false,
            count: 0,
        }
    }

    /// One entry; `label` (file and index) goes in a comment above it.
    pub fn entry(&mut self, label: &str, req: &Request) -> std::io::Result<()> {
        if !self.started {
            self.started = true;
            self.out.write_all(self.preamble().as_bytes())?;
        }
        let text = snippet(self.lang, label, req);
        self.out.write_all(text.as_bytes())?;
        self.count += 1;
        Ok(())
    }

    fn preamble(&self) -> &'static str {
        match self.lang {
            Lang::Curl | Lang::Httpie => "#!/bin/sh\n",
            Lang::Python => python::PREAMBLE,
            Lang::Fetch => fetch::PREAMBLE,
            Lang::K6 => k6::PREAMBLE,
        }
    }

    /// Close the script and hand the writer back.
    pub fn finish(mut self) -> std::io::Result<W> {
        if !self.started {
            self.out.write_all(self.preamble().as_bytes())?;
        }
        let end = match self.lang {
            Lang::Fetch => fetch::END,
            Lang::K6 => k6::END,
            _ => "",
        };
        self.out.write_all(end.as_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }

    pub fn count(&self) -> usize {
        self.count
    }
}

/// One entry's snippet (with a comment line naming it).
pub fn snippet(lang: Lang, label: &str, req: &Request) -> String {
    let head = format!("{} {}", req.method, req.url);
    let label = comment_text(&format!("{label}: {head}"));
    match lang {
        Lang::Curl => format!("\n# {label}\n{}\n", curl::command(req)),
        Lang::Httpie => format!("\n# {label}\n{}\n", httpie::command(req)),
        Lang::Python => format!("\n# {label}\n{}\n", python::call(req)),
        Lang::Fetch => format!("\n  // {label}\n{}\n", fetch::call(req)),
        Lang::K6 => format!("\n  // {label}\n{}\n", k6::call(req)),
    }
}

/// The curl command for one entry (`curl --url … -H … --data-raw …`), as the viewer's
/// "Copy as curl" gives it.
pub fn curl_command<J: Json>(e: EntryView<'_, J>) -> String {
    curl::command(&Request::of(e))
}

#[cfg(test)]
mod tests;
