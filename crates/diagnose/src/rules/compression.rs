//! Large text responses sent without compression.

use super::{shown, Context, Findings, Rule};
use crate::util::human_bytes;
use crate::Digest;
use check::Examples;
use har::Severity;

/// Text responses from this size (bytes) should be compressed.
const UNCOMPRESSED_MIN: i64 = 50 * 1024;

#[derive(Default)]
pub struct Compression {
    uncompressed: Examples,
    bytes: i64,
    example: Option<String>,
}

impl Rule for Compression {
    fn entry(&mut self, d: &Digest, _: &mut Context<'_>) {
        let resp = d.entry.response();
        if resp.status() != Some(200) || d.cached {
            return;
        }
        let c = resp.content();
        let size = c.size().unwrap_or(0);
        let mime = c.mime_type().unwrap_or("");
        if size >= UNCOMPRESSED_MIN
            && har::http::is_textual(mime)
            && resp
                .headers()
                .get("content-encoding")
                .is_none_or(|v| v.eq_ignore_ascii_case("identity"))
            && resp
                .transfer_size()
                .is_none_or(|t| t as f64 >= size as f64 * 0.9)
        {
            self.uncompressed.add(d.index);
            self.bytes += size;
            self.example
                .get_or_insert_with(|| format!("{} ({}, {mime})", shown(d), human_bytes(size)));
        }
    }

    fn finish(self: Box<Self>, out: &mut Findings) {
        out.add(
            "uncompressed-text",
            Severity::Info,
            "Large text responses sent uncompressed".into(),
            format!(
                "{} of text without Content-Encoding, e.g. {}.",
                human_bytes(self.bytes),
                self.example.unwrap_or_default()
            ),
            "Enable gzip or brotli for text types (HTML, JSON, JS, CSS, SVG) on the server or CDN.",
            self.uncompressed,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::tests::run;
    use crate::tests::digest;

    #[test]
    fn big_text_without_content_encoding() {
        let mut big = digest(0, "https://a.example/", 200, &[]);
        big.entry.value["response"]["content"]["size"] = serde_json::json!(100_000);
        let mut gz = digest(
            1,
            "https://a.example/gz",
            200,
            &[("Content-Encoding", "gzip")],
        );
        gz.entry.value["response"]["content"]["size"] = serde_json::json!(100_000);
        let out = run(Compression::default(), &[big, gz]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].entries, [0]);
        assert!(out[0].detail.starts_with("97.7 KiB of text"));
    }
}
