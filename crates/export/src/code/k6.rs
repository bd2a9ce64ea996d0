//! k6: one script whose default function sends every request in order.

use super::{b64, js_str, Request};

pub const PREAMBLE: &str = "import http from \"k6/http\";\nimport encoding from \"k6/encoding\";\n\nexport default function () {";
pub const END: &str = "}\n";

pub fn call(req: &Request) -> String {
    let body = match (req.text_body(), &req.body) {
        (Some(t), _) => js_str(t),
        (None, Some(b)) => format!("encoding.b64decode({}, \"std\", \"b\")", js_str(&b64(b))),
        (None, None) => "null".into(),
    };
    let mut s = format!(
        "  http.request({}, {}, {}, {{\n    headers: {{\n",
        js_str(&req.method),
        js_str(&req.url),
        body
    );
    for (n, v) in req.joined_headers() {
        s.push_str(&format!("      {}: {},\n", js_str(&n), js_str(&v)));
    }
    s.push_str("    },\n    redirects: 0,\n  });");
    s
}
