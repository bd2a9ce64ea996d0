//! HTTPie: `http --ignore-stdin METHOD URL 'N:V' … --raw 'BODY'`.

use super::{b64, sh_quote, Request};

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
        // `N:` would remove the header: an empty value is written `N;`. (HTTPie reads a
        // `\` just before `:`, `=`, `@` or `;` as an escape, and no escape keeps it: such
        // a backslash is lost. Any other text is sent as written.)
        parts.push(sh_quote(&if v.is_empty() {
            format!("{n};")
        } else {
            format!("{n}:{v}")
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
        // `--raw=…` in one word: a body starting with `-` is not an option.
        parts.push(sh_quote(&format!("--raw={t}")));
    }
    format!("{pipe}{}", parts.join(" "))
}
