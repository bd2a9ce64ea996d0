//! CORS: cross-origin requests the browser refused (as a failure, or an answer without
//! the right `Access-Control-Allow-Origin`) and preflights that failed.

use super::{shown, too_many_redirects, Context, Findings, Rule};
use crate::Digest;
use check::Examples;
use har::{EntryView, Json, Severity};

/// Chrome's CORS failures are `net::ERR_FAILED` on a cross-origin request (Firefox and
/// some exports say "CORS" outright).
pub fn is_cors_failure(failure: &str, d: &Digest, origin: Option<&str>) -> bool {
    if is_upgrade(d) {
        return false;
    }
    let f = failure.to_ascii_lowercase();
    if f.contains("cors") || f.contains("access-control") {
        return true;
    }
    if !(f.contains("err_failed") || f.contains("err_blocked_by_response")) {
        return false;
    }
    let Some(origin) = origin else { return false };
    let Some(u) = &d.url else {
        return false;
    };
    u.origin().ascii_serialization() != origin
}

/// A protocol upgrade (a WebSocket handshake, `h2c`): `101 Switching Protocols`, an
/// `Upgrade` request header, a `ws:`/`wss:` URL or Chrome's `_resourceType:
/// websocket`. CORS does not govern these (a WebSocket server checks `Origin` itself).
pub fn is_upgrade(d: &Digest) -> bool {
    let e = d.view();
    e.response().status() == Some(101)
        || d.kind == "websocket"
        || e.request()
            .headers()
            .get("upgrade")
            .is_some_and(|u| !u.is_empty())
        || d.url
            .as_ref()
            .is_some_and(|u| matches!(u.scheme(), "ws" | "wss"))
}

/// Whether a cross-origin request needs a preflight (method or headers beyond the
/// "simple" ones).
pub fn needs_preflight<J: Json>(e: EntryView<'_, J>) -> bool {
    let req = e.request();
    let m = req.method().unwrap_or("GET").to_ascii_uppercase();
    if !matches!(m.as_str(), "GET" | "HEAD" | "POST") {
        return true;
    }
    req.headers().iter().any(|(n, v)| {
        let n = n.to_ascii_lowercase();
        match n.as_str() {
            "accept" | "accept-language" | "content-language" | "range" => false,
            "content-type" => {
                let v = v.to_ascii_lowercase();
                !(v.starts_with("application/x-www-form-urlencoded")
                    || v.starts_with("multipart/form-data")
                    || v.starts_with("text/plain"))
            }
            // Headers the browser adds itself.
            _ if n.starts_with("sec-") || n.starts_with(':') => false,
            "referer" | "user-agent" | "origin" | "host" | "connection" | "cookie"
            | "accept-encoding" | "content-length" | "pragma" | "cache-control" | "dnt" => false,
            _ => true,
        }
    })
}

#[derive(Default)]
pub struct Cors {
    cors: Examples,
    cors_example: Option<String>,
    preflight: Examples,
    preflight_example: Option<String>,
}

impl Rule for Cors {
    fn entry(&mut self, d: &Digest, cx: &mut Context<'_>) {
        let e = d.view();
        let i = d.index;
        let (req, resp) = (e.request(), e.response());
        let method = req.method().unwrap_or("GET");
        let status = resp.status().unwrap_or(0);
        if let Some(f) = d.failure.as_deref().filter(|f| !too_many_redirects(f)) {
            if cx.cors_failed {
                let target = d
                    .url
                    .as_ref()
                    .map(|u| u.origin().ascii_serialization())
                    .unwrap_or_default();
                let ex = format!(
                    "{} from a page on {} to {target}: {f}",
                    shown(d),
                    cx.origin.unwrap_or("another origin")
                );
                if d.needs_preflight {
                    self.preflight.add(i);
                    self.preflight_example.get_or_insert(ex);
                } else {
                    self.cors.add(i);
                    self.cors_example.get_or_insert(ex);
                }
            }
        }
        // A preflight that failed, as recorded (Chrome's own export has them).
        if method.eq_ignore_ascii_case("OPTIONS")
            && req.headers().contains("access-control-request-method")
            && status > 0
        {
            let allowed = resp.headers().contains("access-control-allow-origin");
            if !((200..300).contains(&status) && allowed) {
                self.preflight.add(i);
                self.preflight_example.get_or_insert_with(|| {
                    format!(
                        "{} answered {status} {}",
                        shown(d),
                        if allowed {
                            ""
                        } else {
                            "without Access-Control-Allow-Origin"
                        }
                    )
                });
            }
        }
        // A cross-origin answer the browser will not hand to the page: a request made
        // in `cors` mode (by `Sec-Fetch-Mode`, or, where the browser did not send it,
        // because it needed a preflight; a simple request may have been a beacon or an
        // image, which CORS does not govern).
        if status > 0
            && d.failure.is_none()
            && !method.eq_ignore_ascii_case("OPTIONS")
            && !is_upgrade(d)
        {
            if let (Some(o), Some(u)) = (req.headers().get("origin"), &d.url) {
                let cors_mode = match req.headers().get("sec-fetch-mode") {
                    Some(m) => m == "cors",
                    None => d.needs_preflight,
                };
                if o != "null" && cors_mode && u.origin().ascii_serialization() != o {
                    let acao = resp.headers().get("access-control-allow-origin");
                    if !acao.is_some_and(|a| a == "*" || a == o) {
                        self.cors.add(i);
                        self.cors_example.get_or_insert_with(|| {
                            format!(
                                "{} from {o}: the response has {}",
                                shown(d),
                                match acao {
                                    Some(a) => format!("Access-Control-Allow-Origin: {a}"),
                                    None => "no Access-Control-Allow-Origin".into(),
                                }
                            )
                        });
                    }
                }
            }
        }
    }

    fn finish(self: Box<Self>, out: &mut Findings) {
        let s = *self;
        out.add(
            "cors-blocked",
            Severity::Error,
            "Cross-origin request blocked by CORS".into(),
            format!(
                "{}. The browser refused to give the response to the page.",
                s.cors_example.unwrap_or_default()
            ),
            "The server at the target origin must answer with Access-Control-Allow-Origin naming the \
             page's origin (and Access-Control-Allow-Credentials: true if cookies are sent).",
            s.cors,
        );
        out.add(
            "cors-preflight-failed",
            Severity::Error,
            "CORS preflight failed".into(),
            format!(
                "{}. The request needs a preflight (its method or headers, e.g. Authorization or a \
                 JSON Content-Type, are not \"simple\"), and the OPTIONS preflight was refused, so \
                 the request itself was never sent.",
                s.preflight_example.unwrap_or_default()
            ),
            "Make the target answer OPTIONS with 2xx, Access-Control-Allow-Origin, \
             Access-Control-Allow-Methods and Access-Control-Allow-Headers listing the headers the \
             page sends (e.g. Authorization, Content-Type).",
            s.preflight,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::tests::run;
    use crate::tests::digest;

    #[test]
    fn answers_without_the_page_origin_are_blocked() {
        let mut d = digest(0, "https://api.example/x", 200, &[]);
        d.entry.value["request"]["headers"] = serde_json::json!([
            {"name": "Origin", "value": "https://app.example"},
            {"name": "Sec-Fetch-Mode", "value": "cors"}
        ]);
        // The same as a WebSocket handshake: not CORS's business.
        let mut ws = d.clone();
        ws.index = 2;
        ws.entry.index = 2;
        ws.entry.value["response"]["status"] = 101.into();
        let ok = digest(1, "https://app.example/y", 200, &[]);
        let out = run(Cors::default(), &[d, ok, ws]);
        assert_eq!(out.len(), 1);
        assert_eq!(
            (out[0].code, out[0].entries.as_slice()),
            ("cors-blocked", &[0][..])
        );
        assert!(out[0].detail.contains("no Access-Control-Allow-Origin"));
    }
}
