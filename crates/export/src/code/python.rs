//! Python `requests`: `requests.request(M, URL, headers=[…], data=b…, allow_redirects=False)`.

use super::{b64, py_str, Request};

pub const PREAMBLE: &str = "import base64\n\nimport requests\n";

pub fn call(req: &Request) -> String {
    let mut s = format!(
        "requests.request(\n    {},\n    {},\n",
        py_str(&req.method),
        py_str(&req.url)
    );
    s.push_str("    headers={\n");
    for (n, v) in req.joined_headers() {
        // Non-ASCII values as UTF-8 bytes (http.client would encode a str as Latin-1).
        let value = if v.is_ascii() {
            py_str(&v)
        } else {
            format!("{}.encode()", py_str(&v))
        };
        s.push_str(&format!("        {}: {},\n", py_str(&n), value));
    }
    s.push_str("    },\n");
    match (req.text_body(), &req.body) {
        (Some(t), _) => s.push_str(&format!("    data={}.encode(),\n", py_str(t))),
        (None, Some(b)) => s.push_str(&format!(
            "    data=base64.b64decode({}),\n",
            py_str(&b64(b))
        )),
        (None, None) => {}
    }
    s.push_str("    allow_redirects=False,\n)");
    s
}
