//! A response body as the HAR's `content`: decoded (`Content-Encoding`), text as text,
//! binary as base64, `size`, `compression`, and a note when it was cut or kept as received.

use super::{b64, header, Exchange};
use serde_json::{json, Map, Value};
use std::io::Read;

impl Exchange {
    pub(super) fn content_json(&self, headers: &[(String, String)]) -> Value {
        let body = &self.response_body;
        let mut c = Map::new();
        // No Content-Type: "x-unknown", as Chrome writes it.
        let mime = header(headers, "content-type").unwrap_or("x-unknown");
        let encoding = header(headers, "content-encoding")
            .map(|e| e.trim().to_ascii_lowercase())
            .filter(|e| !e.is_empty() && e != "identity");
        let (decoded, inflate_cut, decode_note) = match &encoding {
            Some(enc) if !body.bytes.is_empty() => match decode(enc, &body.bytes, body.cap) {
                Ok((d, cut)) => (Some(d), cut, None),
                Err(msg) => (None, false, Some(msg)),
            },
            _ => (None, false, None),
        };
        let data: &[u8] = decoded.as_deref().unwrap_or(&body.bytes);
        let size = if decoded.is_some() || body.truncated() {
            data.len() as u64
        } else {
            body.total
        };
        c.insert("size".into(), json!(size));
        if decoded.is_some() && !body.truncated() && !inflate_cut {
            c.insert("compression".into(), json!(size as i64 - body.total as i64));
        }
        c.insert("mimeType".into(), json!(mime));
        if !data.is_empty() {
            if har::http::is_textual(mime) || har::http::is_unknown_mime(mime) {
                if let Ok(t) = std::str::from_utf8(data) {
                    c.insert("text".into(), json!(t));
                } else {
                    c.insert("text".into(), json!(b64(data)));
                    c.insert("encoding".into(), json!("base64"));
                }
            } else {
                c.insert("text".into(), json!(b64(data)));
                c.insert("encoding".into(), json!("base64"));
            }
        }
        let mut notes = Vec::new();
        if body.truncated() {
            c.insert("_truncated".into(), json!(true));
            notes.push(format!(
                "body cut by hark after {} of {} bytes on the wire",
                body.bytes.len(),
                body.total
            ));
        }
        if inflate_cut {
            c.insert("_truncated".into(), json!(true));
            notes.push(format!(
                "body cut by hark after {} bytes decoded from {} bytes on the wire (--max-body applies to the decoded size)",
                data.len(),
                body.total
            ));
        }
        if let Some(n) = decode_note {
            notes.push(format!("kept as received ({n})"));
        }
        if !notes.is_empty() {
            c.insert("comment".into(), json!(notes.join("; ")));
        }
        Value::Object(c)
    }
}

/// Undo `Content-Encoding` (a list, applied in order), producing at most `budget` bytes
/// (`--max-body` applies to the inflated size: a small bomb cannot grow past it). Returns
/// the bytes and whether the budget cut them. A cut body decodes as far as it goes.
fn decode(encodings: &str, data: &[u8], budget: usize) -> Result<(Vec<u8>, bool), String> {
    let mut cur = data.to_vec();
    let mut cut = false;
    // One byte over the budget tells a body of exactly `budget` bytes from a longer one.
    let limit = (budget as u64).saturating_add(1);
    for enc in encodings.split(',').rev() {
        let enc = enc.trim();
        let mut out = Vec::new();
        let res = match enc {
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
        if out.len() > budget {
            out.truncate(budget);
            cut = true;
        }
        cur = out;
    }
    Ok((cur, cut))
}
