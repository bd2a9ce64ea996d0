//! HTTPie: `http --ignore-stdin METHOD URL 'N:V' … --raw 'BODY'`.

use super::{b64, sh_quote, Request};

/// A request item's text: HTTPie reads `\` as an escape in items.
fn item(s: &str) -> String {
    s.replace('\\', "\\\\")
}

pub fn command(req: &Request) -> String {
    let mut parts: Vec<String> = vec!["http".into()];
    let mut pipe = String::new();
    let text = req.text_body();
    match (text, &req.body) {
        (None, Some(bytes)) => {
            pipe = format!("printf %s {} | base64 -d | ", sh_quote(&b64(bytes)));
        }
        _ => parts.push("--ignore-stdin".into()),
    }
    // No output formatting or decoding beyond what the server sends back.
    parts.push("--pretty=none".into());
    parts.push(sh_quote(&req.method));
    parts.push(sh_quote(&req.url));
    for (n, v) in &req.headers {
        // `N:` would remove the header: an empty value is written `N;`.
        parts.push(sh_quote(&if v.is_empty() {
            format!("{};", item(n))
        } else {
            format!("{}:{}", item(n), item(v))
        }));
    }
    for (name, when) in [
        ("User-Agent", true),
        ("Accept", true),
        ("Accept-Encoding", true),
        ("Connection", true),
        ("Content-Type", req.body.is_some()),
    ] {
        if when && !req.has_header(name) {
            parts.push(format!("{name}:"));
        }
    }
    if let Some(t) = text {
        parts.push("--raw".into());
        parts.push(sh_quote(t));
    }
    format!("{pipe}{}", parts.join(" "))
}
