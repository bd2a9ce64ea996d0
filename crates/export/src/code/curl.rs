//! `curl`: `curl --url URL -X M -H 'N: V' … --data-raw 'BODY' --compressed`.

use super::{b64, sh_quote, Request};

/// Bodies larger than this make curl send `Expect: 100-continue` unless told not to.
const EXPECT_FROM: usize = 1024;

pub fn command(req: &Request) -> String {
    let mut parts: Vec<String> = vec!["curl".into(), "--url".into(), sh_quote(&req.url)];
    let implied = if req.body.is_some() { "POST" } else { "GET" };
    if req.method != implied {
        parts.push("-X".into());
        parts.push(sh_quote(&req.method));
    }
    for (n, v) in &req.headers {
        parts.push("-H".into());
        // `N:` alone would remove the header: an empty value is written `N;`.
        parts.push(sh_quote(&if v.is_empty() {
            format!("{n};")
        } else {
            format!("{n}: {v}")
        }));
    }
    // What curl would add on its own and the recording did not send.
    for (name, when) in [
        ("User-Agent", true),
        ("Accept", true),
        ("Content-Type", req.body.is_some()),
        (
            "Expect",
            req.body.as_ref().is_some_and(|b| b.len() > EXPECT_FROM),
        ),
    ] {
        if when && !req.has_header(name) {
            parts.push("-H".into());
            parts.push(format!("{name}:"));
        }
    }
    let mut pipe = String::new();
    match (req.text_body(), &req.body) {
        (Some(t), _) => {
            parts.push("--data-raw".into());
            parts.push(sh_quote(t));
        }
        (None, Some(bytes)) => {
            pipe = format!("printf %s {} | base64 -d | ", sh_quote(&b64(bytes)));
            parts.push("--data-binary".into());
            parts.push("@-".into());
        }
        (None, None) => {}
    }
    if req.compressed {
        parts.push("--compressed".into());
    }
    format!("{pipe}{}", parts.join(" "))
}
