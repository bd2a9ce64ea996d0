//! JavaScript `fetch` (browsers, Node.js 18+): one async function calling each request.

use super::{b64, js_header, js_str, Request};

pub const PREAMBLE: &str = "async function main() {";
pub const END: &str = "}\n\nmain();\n";

pub fn call(req: &Request) -> String {
    let mut s = format!("  await fetch({}, {{\n", js_str(&req.url));
    s.push_str(&format!("    method: {},\n", js_str(&req.method)));
    s.push_str("    headers: [\n");
    for (n, v) in &req.headers {
        s.push_str(&format!("      [{}, {}],\n", js_str(n), js_header(v)));
    }
    s.push_str("    ],\n");
    match (req.text_body(), &req.body) {
        // A string body without a type would be sent as `text/plain;charset=UTF-8`.
        (Some(t), _) if req.has_header("content-type") => {
            s.push_str(&format!("    body: {},\n", js_str(t)))
        }
        (Some(t), _) => s.push_str(&format!(
            "    body: new TextEncoder().encode({}),\n",
            js_str(t)
        )),
        (None, Some(b)) => s.push_str(&format!(
            "    body: Uint8Array.from(atob({}), (c) => c.charCodeAt(0)),\n",
            js_str(&b64(b))
        )),
        (None, None) => {}
    }
    s.push_str("    redirect: \"manual\",\n  });");
    s
}
