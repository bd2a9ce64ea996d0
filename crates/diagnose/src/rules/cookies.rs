//! The cookie jar: cookies set and then not sent back where they should have been
//! (with the likely reason), and cookies the browser rejects outright.

use super::{Context, Findings, Rule};
use crate::util;
use crate::Digest;
use check::{Examples, Finding};
use har::http::SetCookie;
use har::Severity;

/// Live cookies tracked; later Set-Cookie are counted, not checked.
pub const MAX_COOKIES: usize = 500;

#[derive(Clone, Debug)]
struct TrackedCookie {
    name: String,
    host: String,
    domain: Option<String>,
    path: String,
    secure: bool,
    same_site: Option<String>,
    expires_ms: Option<f64>,
    set_at: usize,
    rejected: Option<String>,
    sent: bool,
    missing: Examples,
    missing_reason: Option<String>,
}

#[derive(Default)]
pub struct Cookies {
    jar: Vec<TrackedCookie>,
    /// Set-Cookie not tracked for want of room.
    capped: usize,
}

impl Rule for Cookies {
    fn entry(&mut self, d: &Digest, _: &mut Context<'_>) {
        let (e, Some(u)) = (&d.entry, &d.url) else {
            return;
        };
        let host = u.host_str().unwrap_or("").to_ascii_lowercase();
        let secure_ctx = u.scheme() == "https" || util::is_loopback(&host);
        let req = e.request();
        let at = e.started_ms();
        // Requests: which tracked cookies came back?
        let cookie_header = req
            .headers()
            .get_all("cookie")
            .collect::<Vec<_>>()
            .join("; ");
        let status = e.response().status().unwrap_or(0);
        if !cookie_header.is_empty() && status > 0 {
            let names: Vec<&str> = cookie_header
                .split(';')
                .filter_map(|p| p.split_once('=').map(|(n, _)| n.trim()))
                .collect();
            let cross_site = req
                .headers()
                .get("sec-fetch-site")
                .is_some_and(|s| s.eq_ignore_ascii_case("cross-site"));
            let path = u.path().to_string();
            for c in self.jar.iter_mut() {
                let applies_host = match &c.domain {
                    Some(d) => domain_match(&host, d),
                    None => host == c.host,
                };
                if !applies_host || Some(e.index) <= Some(c.set_at) {
                    continue;
                }
                if names.contains(&c.name.as_str()) {
                    c.sent = true;
                    continue;
                }
                if cross_site && c.same_site.as_deref() != Some("none") {
                    continue; // SameSite working as intended
                }
                let reason = if let Some(r) = &c.rejected {
                    r.clone()
                } else if c.secure && u.scheme() != "https" && !util::is_loopback(&host) {
                    "it is Secure and this request is plain http".into()
                } else if !path_match(&path, &c.path) {
                    format!("its Path={} does not cover {path}", c.path)
                } else if let (Some(exp), Some(at)) = (c.expires_ms, at) {
                    if exp < at {
                        format!("it expired at {}", util::iso(exp))
                    } else {
                        "the browser did not keep it".into()
                    }
                } else {
                    "the browser did not keep it".into()
                };
                c.missing.add(e.index);
                c.missing_reason.get_or_insert(reason);
            }
        }
        // Responses: Set-Cookie.
        for sc in e.response().headers().get_all("set-cookie") {
            for line in sc.split('\n') {
                let c = SetCookie::parse(line);
                if !c.has_eq || c.name.is_empty() {
                    continue;
                }
                let len = line.len();
                let domain = c
                    .domain
                    .map(|d| d.trim_start_matches('.').to_ascii_lowercase());
                let same_site = c.same_site.map(str::to_ascii_lowercase);
                let max_age: Option<f64> = c.max_age.and_then(|m| m.parse().ok());
                let expires = c.expires_ms();
                let deleted = max_age.is_some_and(|m| m <= 0.0)
                    || (max_age.is_none() && expires.zip(at).is_some_and(|(x, a)| x < a - 1000.0));
                let cookie_host = domain.clone();
                self.jar.retain(|t| {
                    !(t.name == c.name
                        && t.domain == cookie_host
                        && (cookie_host.is_some() || t.host == host))
                });
                if deleted {
                    continue;
                }
                let mut rejected = None;
                let ss = same_site.as_deref();
                if ss == Some("none") && !c.secure {
                    rejected = Some("SameSite=None without Secure: Chrome rejects it".to_string());
                } else if c.secure && !secure_ctx {
                    rejected = Some("Secure cookie set over plain http: browsers reject it".into());
                } else if let Some(d) = &domain {
                    if !domain_match(&host, d) {
                        rejected = Some(format!(
                            "Domain={d} does not match the host {host}: the browser rejects it"
                        ));
                    }
                }
                if c.name.starts_with("__Host-")
                    && (domain.is_some() || !c.secure || c.path != Some("/"))
                {
                    rejected = Some(
                        "__Host- cookie without Secure, with a Domain, or not Path=/: rejected"
                            .into(),
                    );
                } else if c.name.starts_with("__Secure-") && !c.secure {
                    rejected = Some("__Secure- cookie without Secure: rejected".into());
                }
                if len > 4096 {
                    rejected = Some(format!("{len} bytes, over the 4096-byte limit: dropped"));
                }
                if self.jar.len() >= MAX_COOKIES {
                    self.capped += 1;
                    continue;
                }
                self.jar.push(TrackedCookie {
                    name: c.name.to_string(),
                    host: host.clone(),
                    domain,
                    path: c.path.map_or_else(|| default_path(u), str::to_string),
                    secure: c.secure,
                    same_site,
                    expires_ms: max_age.and_then(|m| at.map(|a| a + m * 1000.0)).or(expires),
                    set_at: e.index,
                    rejected,
                    sent: false,
                    missing: Examples::default(),
                    missing_reason: None,
                });
            }
        }
    }

    fn finish(self: Box<Self>, out: &mut Findings) {
        if self.capped > 0 {
            out.cap(format!(
                "cookies: only the first {MAX_COOKIES} live cookies are tracked; {} later Set-Cookie not checked",
                self.capped
            ));
        }
        for c in self.jar {
            if c.sent || (c.missing.is_empty() && c.rejected.is_none()) {
                continue;
            }
            let (code, title, detail) = if c.missing.is_empty() {
                (
                    "cookie-rejected",
                    format!("Cookie `{}` is rejected by the browser", c.name),
                    format!(
                        "Set by entry {} ({}): {}.",
                        c.set_at,
                        c.host,
                        c.rejected.clone().unwrap_or_default()
                    ),
                )
            } else {
                (
                    "cookie-not-sent",
                    format!("Cookie `{}` set but never sent back", c.name),
                    format!(
                        "Set by entry {} on {}, then missing from {} later request{} to that host that carried other cookies (first: entry {}). Likely because {}.",
                        c.set_at,
                        c.host,
                        c.missing.count,
                        super::plural(c.missing.count),
                        c.missing.list.first().copied().unwrap_or(0),
                        c.missing_reason.clone().unwrap_or_default()
                    ),
                )
            };
            // Each cookie is its own finding (bounded by MAX_COOKIES, few in practice).
            let mut examples = Examples::default();
            for i in std::iter::once(c.set_at).chain(c.missing.list.iter().copied()) {
                examples.add(i);
            }
            examples.count = examples.count.max(1 + c.missing.count);
            out.push(Finding::new(
                code,
                Severity::Warning,
                title,
                detail,
                "A session or CSRF cookie that is not sent back breaks the login (loops, `state` or CSRF errors): cookies sent cross-site need `SameSite=None; Secure` over https; Secure needs https; Domain must match the host; Path must cover the URLs that need it.".into(),
                examples,
            ));
        }
    }
}

fn default_path(u: &url::Url) -> String {
    let p = u.path();
    match p.rfind('/') {
        Some(0) | None => "/".into(),
        Some(k) => p[..k].to_string(),
    }
}

fn domain_match(host: &str, domain: &str) -> bool {
    host == domain
        || (host.len() > domain.len()
            && host.ends_with(domain)
            && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
}

fn path_match(req: &str, cookie: &str) -> bool {
    req == cookie
        || (req.starts_with(cookie)
            && (cookie.ends_with('/') || req[cookie.len()..].starts_with('/')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::tests::run;
    use crate::tests::digest;

    #[test]
    fn matching_domains_and_paths() {
        assert!(domain_match("www.example.com", "example.com"));
        assert!(!domain_match("badexample.com", "example.com"));
        assert!(path_match("/x/y", "/x"));
        assert!(!path_match("/xy", "/x"));
        assert_eq!(
            default_path(&url::Url::parse("https://a/b/c").unwrap()),
            "/b"
        );
    }

    #[test]
    fn a_cookie_not_sent_back_and_one_rejected() {
        let ds = [digest(
            0,
            "https://a.example/login",
            200,
            &[("Set-Cookie", "bad=1; SameSite=None")],
        )];
        let out = run(Cookies::default(), &ds);
        let got: Vec<_> = out.iter().map(|f| (f.code, f.entries.clone())).collect();
        assert_eq!(got, [("cookie-rejected", vec![0])]);
        let ds = [
            digest(
                0,
                "https://a.example/login",
                200,
                &[("Set-Cookie", "sid=1; Path=/app")],
            ),
            digest(1, "https://a.example/app/home", 200, &[]),
        ];
        let out = run(Cookies::default(), &ds);
        assert_eq!(out[0].code, "cookie-not-sent");
        assert_eq!((out[0].entries.as_slice(), out[0].count), (&[0, 1][..], 2));
        assert!(out[0]
            .detail
            .ends_with("Likely because the browser did not keep it."));
    }
}
