//! Mixed content: `http://` requests from an `https://` page.

use super::{shown, Context, Findings, Rule};
use crate::util;
use crate::Digest;
use check::Examples;
use har::Severity;

#[derive(Default)]
pub struct MixedContent {
    mixed: Examples,
    example: Option<String>,
}

impl Rule for MixedContent {
    fn entry(&mut self, d: &Digest, cx: &mut Context<'_>) {
        if let (Some(u), Some(o)) = (&d.url, cx.origin) {
            if u.scheme() == "http"
                && o.starts_with("https://")
                && !u.host_str().is_some_and(util::is_loopback)
            {
                self.mixed.add(d.index);
                self.example
                    .get_or_insert_with(|| format!("{} from a page on {o}", shown(d)));
            }
        }
    }

    fn finish(self: Box<Self>, out: &mut Findings) {
        out.add(
            "mixed-content",
            Severity::Warning,
            "Mixed content: http:// requests from an https:// page".into(),
            format!(
                "{}. Browsers block or upgrade these.",
                self.example.unwrap_or_default()
            ),
            "Load every resource over https://.",
            self.mixed,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::tests::run;
    use crate::tests::digest;

    #[test]
    fn plain_http_from_an_https_page() {
        let mut d = digest(0, "http://cdn.example/a.js", 200, &[]);
        d.header_origin = Some("https://app.example".into());
        let mut local = digest(1, "http://localhost:8080/a.js", 200, &[]);
        local.header_origin = Some("https://app.example".into());
        let out = run(MixedContent::default(), &[d, local]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].entries, [0]);
        assert!(out[0]
            .detail
            .starts_with("GET http://cdn.example/a.js from a page on https://app.example."));
    }
}
