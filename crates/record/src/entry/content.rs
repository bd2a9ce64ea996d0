//! A response body as the HAR's `content`: decoded (`Content-Encoding`), text as text,
//! binary as base64, `size`, `compression`, and a note when it was cut or kept as received.

use super::{b64, header, Exchange};
use serde_json::{json, Map, Value};

impl Exchange {
    pub(super) fn content_json(&self, headers: &[(String, String)]) -> Value {
        let body = &self.response_body;
        let mut c = Map::new();
        // No Content-Type: "x-unknown", as Chrome writes it.
        let mime = header(headers, "content-type").unwrap_or("x-unknown");
        let encoding = header(headers, "content-encoding")
            .map(|e| e.trim().to_ascii_lowercase())
            .filter(|e| !e.is_empty() && e != "identity");
        // `--max-body` bounds the inflated size: one byte over the budget tells a body of
        // exactly `cap` bytes from a longer one, and a small bomb cannot grow past it.
        let (decoded, inflate_cut, decode_note) = match &encoding {
            Some(enc) if !body.bytes.is_empty() => {
                let limit = (body.cap as u64).saturating_add(1);
                match har::http::decode_content(enc, &body.bytes, limit) {
                    Ok(mut d) => {
                        let cut = d.len() > body.cap;
                        d.truncate(body.cap);
                        (Some(d), cut, None)
                    }
                    Err(msg) => (None, false, Some(msg)),
                }
            }
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
