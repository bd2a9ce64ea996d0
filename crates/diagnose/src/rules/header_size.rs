//! Oversized cookies and request headers, which browsers drop and servers refuse.

use super::{shown, Context, Findings, Rule};
use crate::util::human_bytes;
use crate::Digest;
use check::Examples;
use har::Severity;

/// The largest cookie browsers keep.
const COOKIE_LIMIT: usize = 4096;
/// What many servers and proxies accept of request headers.
const REQUEST_HEADERS_LIMIT: usize = 8192;

#[derive(Default)]
pub struct HeaderSize {
    big_cookie: Examples,
    big_cookie_example: Option<String>,
    big_headers: Examples,
    big_headers_example: Option<String>,
}

impl Rule for HeaderSize {
    fn entry(&mut self, d: &Digest, _: &mut Context<'_>) {
        let e = d.view();
        let i = d.index;
        let cookie_len = e
            .request()
            .headers()
            .get_all("cookie")
            .map(str::len)
            .sum::<usize>();
        let set_cookie_max = e
            .response()
            .headers()
            .get_all("set-cookie")
            .map(str::len)
            .max()
            .unwrap_or(0);
        if cookie_len > COOKIE_LIMIT || set_cookie_max > COOKIE_LIMIT {
            self.big_cookie.add(i);
            self.big_cookie_example.get_or_insert_with(|| {
                if cookie_len > COOKIE_LIMIT {
                    format!(
                        "{}: Cookie header of {}",
                        shown(d),
                        human_bytes(cookie_len as i64)
                    )
                } else {
                    format!(
                        "{}: a Set-Cookie of {}",
                        shown(d),
                        human_bytes(set_cookie_max as i64)
                    )
                }
            });
        }
        let head = d.request_headers_len;
        if head > REQUEST_HEADERS_LIMIT {
            self.big_headers.add(i);
            self.big_headers_example.get_or_insert_with(|| {
                format!(
                    "{}: {} of request headers",
                    shown(d),
                    human_bytes(head as i64)
                )
            });
        }
    }

    fn finish(self: Box<Self>, out: &mut Findings) {
        let s = *self;
        out.add(
            "oversized-cookie",
            Severity::Warning,
            "Oversized cookies".into(),
            format!(
                "{}. Browsers drop a cookie over 4096 bytes and servers reject large Cookie headers (400 / 431).",
                s.big_cookie_example.unwrap_or_default()
            ),
            "Keep session cookies small (an id, not the claims); clear stale chunked cookies.",
            s.big_cookie,
        );
        out.add(
            "large-headers",
            Severity::Warning,
            "Very large request headers".into(),
            format!(
                "{}. Many servers and proxies refuse more than 8 KiB (400 or 431 Request Header Fields Too Large).",
                s.big_headers_example.unwrap_or_default()
            ),
            "Look for huge cookies or tokens in headers.",
            s.big_headers,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::tests::run;
    use crate::tests::digest;

    #[test]
    fn a_set_cookie_over_the_limit() {
        let big = format!("a={}", "x".repeat(5000));
        let out = run(
            HeaderSize::default(),
            &[digest(
                0,
                "https://a.example/",
                200,
                &[("Set-Cookie", &big)],
            )],
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].code, "oversized-cookie");
        assert!(out[0].detail.contains("a Set-Cookie of 4.9 KiB"));
    }
}
