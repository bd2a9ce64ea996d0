//! Static assets served without any caching headers.

use super::{shown, Context, Findings, Rule};
use crate::Digest;
use check::Examples;
use har::{EntryView, Json, Severity};

#[derive(Default)]
pub struct Caching {
    no_cache: Examples,
    example: Option<String>,
}

impl Rule for Caching {
    fn entry(&mut self, d: &Digest, _: &mut Context<'_>) {
        let e = d.view();
        if e.response().status() != Some(200) || d.cached {
            return;
        }
        if har::http::is_static(&d.kind, e.request().url().unwrap_or("")) && !has_cache_validator(e)
        {
            self.no_cache.add(d.index);
            self.example.get_or_insert_with(|| shown(d));
        }
    }

    fn finish(self: Box<Self>, out: &mut Findings) {
        out.add(
            "static-no-cache",
            Severity::Info,
            "Static assets without caching headers".into(),
            format!(
                "e.g. {}: no Cache-Control max-age, Expires, ETag or Last-Modified (or no-store).",
                self.example.unwrap_or_default()
            ),
            "Serve versioned assets with Cache-Control: public, max-age=31536000, immutable, and others with an ETag.",
            self.no_cache,
        );
    }
}

/// Whether the response may be cached or revalidated: a positive max-age, `immutable`,
/// `Expires`, an `ETag` or `Last-Modified` (and no `no-store` / `no-cache`).
fn has_cache_validator<J: Json>(e: EntryView<'_, J>) -> bool {
    let h = e.response().headers();
    let cc = h.get_all("cache-control").collect::<Vec<_>>().join(",");
    let cc = cc.to_ascii_lowercase();
    if cc.contains("no-store") || cc.contains("no-cache") {
        return false;
    }
    let max_age = cc
        .split(',')
        .filter_map(|d| {
            d.trim()
                .strip_prefix("max-age=")
                .or_else(|| d.trim().strip_prefix("s-maxage="))
        })
        .filter_map(|v| v.trim_matches('"').parse::<i64>().ok())
        .max();
    max_age.is_some_and(|a| a > 0)
        || cc.contains("immutable")
        || h.contains("expires")
        || h.contains("etag")
        || h.contains("last-modified")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::tests::run;
    use crate::tests::digest;

    #[test]
    fn assets_without_validators() {
        let bare = digest(0, "https://a.example/app.js", 200, &[]);
        let cached = digest(
            1,
            "https://a.example/b.js",
            200,
            &[("Cache-Control", "max-age=60")],
        );
        let nostore = digest(
            2,
            "https://a.example/c.css",
            200,
            &[("Cache-Control", "no-store"), ("ETag", "x")],
        );
        let out = run(Caching::default(), &[bare, cached, nostore]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].entries, [0, 2]);
    }
}
