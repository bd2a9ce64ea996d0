//! What the lint reads of one entry ([`Facts`]), and the readings other crates share:
//! is it a page load, was it served from cache.

use crate::{redact_query, Producer};
use har::{Entry, EntryView, Json};

fn query_names<J: Json>(e: EntryView<'_, J>) -> Vec<String> {
    let req = e.request();
    let mut names: Vec<String> = req
        .query_string()
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    if names.is_empty() {
        if let Some(Ok(u)) = req.url().map(url::Url::parse) {
            names = u.query_pairs().map(|(k, _)| k.into_owned()).collect();
        }
    }
    names
}

fn form_pairs<J: Json>(e: EntryView<'_, J>) -> Vec<(String, String)> {
    let Some(pd) = e.request().post_data() else {
        return Vec::new();
    };
    let mut pairs: Vec<(String, String)> = pd
        .params()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    if pairs.is_empty()
        && pd
            .mime_type()
            .is_some_and(|m| m.contains("x-www-form-urlencoded"))
    {
        if let Some(t) = pd.text() {
            pairs = url::form_urlencoded::parse(t.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
        }
    }
    pairs
}

fn has(names: &[String], n: &str) -> bool {
    names.iter().any(|x| x == n)
}

/// Whether an entry is a top-level page load.
pub fn is_document(e: &Entry) -> bool {
    is_document_view(e.view())
}

/// [`is_document`] for either tree.
pub fn is_document_view<J: Json>(e: EntryView<'_, J>) -> bool {
    if let Some(t) = e.resource_type() {
        return t == "document";
    }
    let req = e.request();
    if req
        .headers()
        .get("sec-fetch-dest")
        .is_some_and(|d| d.eq_ignore_ascii_case("document"))
    {
        return true;
    }
    req.method() == Some("GET")
        && (req
            .headers()
            .get("accept")
            .is_some_and(|a| a.starts_with("text/html"))
            || e.response()
                .content()
                .mime_type()
                .is_some_and(|m| m.starts_with("text/html")))
}

/// Served from a cache rather than the network, as each browser marks it, or
/// revalidated (`304`): [`cache_use_view`] is not [`CacheUse::Network`].
pub fn from_cache(e: &Entry) -> bool {
    from_cache_view(e.view())
}

/// [`from_cache`] for either tree.
pub fn from_cache_view<J: Json>(e: EntryView<'_, J>) -> bool {
    cache_use_view(e) != CacheUse::Network
}

/// How the browser got a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheUse {
    /// Fetched from the network (possibly answered by a shared cache on the way).
    Network,
    /// `304 Not Modified`: the server was asked and said the stored copy is current.
    Revalidated,
    /// Served from the browser's own cache without asking the server: Chrome's
    /// `_fromCache`, Safari's `_fetchType: "Memory Cache"/"Disk Cache"`, Chrome's
    /// `_transferSize: 0` on a 2xx answer with a body.
    Browser,
}

/// [`CacheUse`] of an entry.
pub fn cache_use_view<J: Json>(e: EntryView<'_, J>) -> CacheUse {
    let f = e.fields();
    if f.get("_fromCache")
        .is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty()) || v.as_bool() == Some(true))
    {
        return CacheUse::Browser;
    }
    if f.str("_fetchType")
        .is_some_and(|t| t.to_ascii_lowercase().contains("cache"))
    {
        return CacheUse::Browser;
    }
    let resp = e.response();
    let status = resp.status().unwrap_or(0);
    if status == 304 {
        return CacheUse::Revalidated;
    }
    // Chrome writes `_transferSize: 0` for what it read from its disk or memory cache.
    if f.obj("response").int("_transferSize") == Some(0)
        && (200..300).contains(&status)
        && resp.content().size().is_some_and(|s| s > 0)
    {
        return CacheUse::Browser;
    }
    CacheUse::Network
}

/// Whether a compressed response's sizes are read the HAR way round, measured against
/// its `Content-Length` (the bytes of the encoded body): `Some(true)` when
/// `content.size` (the decoded size) equals `Content-Length` and `bodySize` (the
/// encoded size) is larger: the two are swapped, as Sauce Labs writes them;
/// `Some(false)` when `bodySize` equals `Content-Length` (the right way); `None` when the
/// entry cannot tell (not compressed, no `Content-Length`, sizes unknown).
pub fn sizes_swapped_view<J: Json>(e: EntryView<'_, J>) -> Option<bool> {
    let resp = e.response();
    let h = resp.headers();
    let encoding = h.get("content-encoding")?.trim();
    if encoding.is_empty() || encoding.eq_ignore_ascii_case("identity") {
        return None;
    }
    let length: i64 = h.get("content-length")?.trim().parse().ok()?;
    let (body, size) = (resp.body_size()?, resp.content().size()?);
    if length <= 0 {
        None
    } else if body == length {
        Some(false)
    } else if size == length && body > length {
        Some(true)
    } else {
        None
    }
}

/// What the lint needs to know of one entry: small, computed on any thread, folded in
/// file order by [`Linter::add`](crate::Linter::add).
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub index: usize,
    pub(crate) cookie_or_auth: bool,
    pub(crate) authish: bool,
    /// A sign-in callback, shown as `METHOD url-without-query-values`.
    pub(crate) callback: Option<String>,
    pub(crate) authorize: bool,
    /// A token request redeeming an authorization code, shown.
    pub(crate) code_grant: Option<String>,
    /// A token request with a refresh token, shown.
    pub(crate) refresh_grant: Option<String>,
    /// Credentials posted (a login form, a password grant).
    pub(crate) login: bool,
    /// The entry, shown (`METHOD url-without-query-values`): on the first entry only
    /// (the one the lint names).
    pub(crate) shown: String,
    /// A page load whose URL is where a sign-in lands: a `code` in the query, or a
    /// path ending in `/callback`.
    pub(crate) post_login: bool,
    /// A page load: its URL and Referer.
    pub(crate) document: Option<(String, Option<String>)>,
    pub(crate) cached: bool,
    pub(crate) cached_important: bool,
    pub(crate) body_eligible: bool,
    pub(crate) body_missing: bool,
    pub(crate) body_comment: bool,
    pub(crate) timing: TimingFact,
    pub(crate) zero_time: bool,
    pub(crate) started_ms: Option<f64>,
}

#[derive(Clone, Debug, Default)]
pub(crate) enum TimingFact {
    #[default]
    Fine,
    SslOutside,
    Impossible(String),
    /// An `ssl` phase on a plain-HTTP request: impossible, but the durations that
    /// matter (`time`, `wait`) are not affected.
    SslOnHttp(String),
}

impl Facts {
    pub fn of(e: &Entry, producer: Producer) -> Facts {
        Facts::of_view(e.index, e.view(), producer)
    }

    /// The facts of entry `index`, read through a view of either tree.
    pub fn of_view<J: Json>(index: usize, e: EntryView<'_, J>, producer: Producer) -> Facts {
        let req = e.request();
        let resp = e.response();
        let url = req.url().unwrap_or("");
        let status = resp.status().unwrap_or(0);
        let mut f = Facts {
            index,
            started_ms: e.started_ms(),
            ..Facts::default()
        };

        // Cookies and credentials.
        let sent = req.headers().iter().any(|(n, v)| {
            !v.is_empty()
                && (n.eq_ignore_ascii_case("cookie")
                    || n.eq_ignore_ascii_case("authorization")
                    || n.eq_ignore_ascii_case("proxy-authorization"))
        });
        let set = resp
            .headers()
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("set-cookie"));
        f.cookie_or_auth =
            sent || set || req.cookies().next().is_some() || resp.cookies().next().is_some();
        let path_l = url::Url::parse(url)
            .map(|u| u.path().to_ascii_lowercase())
            .unwrap_or_default();
        let authish = [
            "login", "signin", "sign-in", "logon", "oauth", "token", "session", "auth", "account",
            "sso", "saml",
        ]
        .iter()
        .any(|w| path_l.contains(w));
        f.authish =
            authish || status == 401 || status == 403 || req.headers().contains("x-csrf-token");

        // OAuth / OIDC / SAML steps.
        let q = query_names(e);
        let pairs = form_pairs(e);
        let form: Vec<String> = pairs.iter().map(|(n, _)| n.clone()).collect();
        // A token request: its grant, and a login form post.
        let grant = pairs
            .iter()
            .find(|(n, _)| n == "grant_type")
            .map(|(_, v)| v.as_str());
        let shown = || format!("{} {}", req.method().unwrap_or("GET"), redact_query(url));
        match grant {
            Some("authorization_code") => f.code_grant = Some(shown()),
            Some("refresh_token") => f.refresh_grant = Some(shown()),
            Some("password") => f.login = true,
            _ => {}
        }
        if req.method() == Some("POST")
            && form.iter().any(|k| {
                let k = k.to_ascii_lowercase();
                k.contains("password") || k == "pass" || k == "pwd"
            })
        {
            f.login = true;
        }
        let is_callback = (has(&q, "state") && (has(&q, "code") || has(&q, "error")))
            || has(&form, "SAMLResponse")
            || (has(&form, "state") && (has(&form, "code") || has(&form, "id_token")));
        if is_callback {
            f.callback = Some(format!(
                "{} {}",
                req.method().unwrap_or("GET"),
                redact_query(url)
            ));
        }
        f.authorize = (has(&q, "response_type") && has(&q, "client_id"))
            || has(&q, "SAMLRequest")
            || has(&form, "SAMLRequest")
            || path_l.ends_with("/authorize")
            || path_l.ends_with("/oauth2/auth");

        if index == 0 {
            f.shown = shown();
        }
        let document = is_document_view(e);
        if document {
            f.post_login =
                has(&q, "code") || path_l.ends_with("/callback") || path_l.ends_with("/callback/");
            f.document = Some((
                url.to_string(),
                req.headers().get("referer").map(str::to_string),
            ));
        }

        // Cache.
        // A 304 is a question the server answered: only what the browser served
        // without asking is "served from cache" here.
        let cached = from_cache_view(e);
        if cache_use_view(e) == CacheUse::Browser {
            f.cached = true;
            // (A script or image named after sign-in, e.g. `oauth-config.js`, is a
            // static asset all the same.)
            let t = e.resource_type().unwrap_or_default();
            f.cached_important = document
                || t == "xhr"
                || t == "fetch"
                || (authish && !har::http::is_static(&har::http::resource_type(e), url));
        }

        // Bodies.
        let content = resp.content();
        let mime = content.mime_type().unwrap_or("");
        if (200..300).contains(&status)
            && status != 204
            && req.method() != Some("HEAD")
            && har::http::is_textual(mime)
            && content.size().is_none_or(|s| s != 0)
            && !cached
        {
            f.body_eligible = true;
            if content.text().is_none() {
                f.body_missing = true;
                f.body_comment = content
                    .comment()
                    .is_some_and(|c| c.contains("not included"));
            }
        }

        // Timings.
        let t = e.timings();
        if let Some(time) = e.time() {
            f.zero_time = time == 0.0;
            let total = t.total();
            let ssl = t.ssl.filter(|s| *s > 0.0).unwrap_or(0.0);
            let connect = t.connect.unwrap_or(-1.0);
            let tolerance = 2.0f64.max(time * 0.01);
            if ssl > 0.0
                && url
                    .get(..7)
                    .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
            {
                f.timing = TimingFact::SslOnHttp(format!(
                    "ssl {ssl:.1} ms on an http:// URL, which has no TLS handshake"
                ));
            } else if ssl > 0.0 && connect >= 0.0 && ssl > connect + 0.5 {
                f.timing = if producer.ssl_outside_connect() {
                    TimingFact::SslOutside
                } else {
                    TimingFact::Impossible(format!(
                        "ssl {ssl:.1} ms is longer than connect {connect:.1} ms, which includes it"
                    ))
                };
            } else if t.send.is_some() && total > 0.0 && (time - total).abs() > tolerance {
                // (All phases -1 with a `time`, as Playwright writes failed requests, means
                // the phases are unknown, not wrong.)
                f.timing = if ssl > 0.0 && (time - total - ssl).abs() <= tolerance {
                    TimingFact::SslOutside
                } else {
                    TimingFact::Impossible(format!(
                        "time is {time:.1} ms but the phases add up to {total:.1} ms"
                    ))
                };
            }
        }
        f
    }
}

#[cfg(test)]
mod tree_tests {
    use super::*;

    /// The lint reads the same facts from the editable model and from the borrowed tree.
    #[test]
    fn facts_are_the_same_on_both_trees() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut files = 0;
        for dir in [
            root.join("../shared/corpus/public"),
            root.join("testdata/har"),
        ] {
            for f in std::fs::read_dir(dir).unwrap() {
                let f = f.unwrap().path();
                if f.extension().is_none_or(|x| x != "har") {
                    continue;
                }
                files += 1;
                let mut r =
                    har::HarReader::new(har::Source::open(f.to_str().unwrap()).unwrap()).unwrap();
                let producer = Producer::of(r.header());
                while let Some(raw) = r.next_raw().unwrap() {
                    let model = raw.parse().unwrap();
                    let lite = raw.parse_lite().unwrap();
                    let a = format!("{:?}", Facts::of(&model, producer));
                    let b = format!(
                        "{:?}",
                        Facts::of_view(
                            raw.index,
                            har::EntryView(har::Obj::of(Some(&lite))),
                            producer
                        )
                    );
                    assert_eq!(a, b, "{} entry {}", f.display(), raw.index);
                }
            }
        }
        assert!(files >= 25);
    }
}
