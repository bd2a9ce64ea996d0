//! `GET /`: the API as a page a person reads, rendered on the server from the embedded
//! OpenAPI document (no script, no CDN; its stylesheet is `/api.css`, embedded too),
//! under the viewer's Content-Security-Policy, with a curl example per endpoint.

use super::{Svc, OPENAPI};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::fmt::Write;

const CSS: &str = include_str!("api.css");
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// `'…'` for a POSIX shell.
fn sh(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The value of `example` as a form field (strings as they are, anything else as JSON).
fn form_value(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// A curl command line for `method path` on `base`; `auth` is the credentials option
/// (when the service wants a token).
pub fn curl_example(doc: &Value, method: &str, path: &str, base: &str, auth: &str) -> String {
    let op = &doc["paths"][path][method];
    let url = path.replace("{id}", "$JOB").replace("{port}", "$PORT");
    let mut c = String::from("curl -sS");
    if !auth.is_empty() {
        c.push(' ');
        c.push_str(auth);
    }
    let m = method.to_ascii_uppercase();
    let body = op["requestBody"]["content"].as_object().and_then(|m| {
        m.iter()
            .find_map(|(ct, c)| c.get("example").map(|e| (ct.as_str(), e)))
    });
    match (m.as_str(), body) {
        (_, Some(("application/json", e))) => {
            if m != "POST" {
                let _ = write!(c, " -X {m}");
            }
            let _ = write!(
                c,
                " -H 'Content-Type: application/json' -d {}",
                sh(&e.to_string())
            );
        }
        (_, Some((_, e))) => {
            if m != "POST" {
                let _ = write!(c, " -X {m}");
            }
            for (k, v) in e.as_object().into_iter().flatten() {
                let _ = write!(
                    c,
                    " --data-urlencode {}",
                    sh(&format!("{k}={}", form_value(v)))
                );
            }
        }
        ("GET", None) => {}
        (_, None) => {
            let _ = write!(c, " -X {m}");
        }
    }
    if path.ends_with("network.har") {
        let _ = write!(c, " --compressed -o network.har");
    } else if m == "GET" && path.ends_with("/har") {
        let _ = write!(c, " -o proxy.har");
    }
    let _ = write!(c, " \"{base}{url}\"");
    c
}

/// Names and types of a schema's fields (one `$ref` followed).
fn fields(doc: &Value, schema: &Value) -> Vec<(String, String, String)> {
    let schema = match schema["$ref"].as_str() {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or(&Value::Null),
        None => schema,
    };
    schema["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let ty = match (&v["type"], v["$ref"].as_str()) {
                (Value::String(t), _) => t.clone(),
                (Value::Array(ts), _) => ts
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" | "),
                (_, Some(r)) => r.rsplit('/').next().unwrap_or(r).to_string(),
                _ => String::new(),
            };
            let desc = v["description"].as_str().unwrap_or("").to_string();
            (k.clone(), ty, desc)
        })
        .collect()
}

fn operation(
    out: &mut String,
    doc: &Value,
    method: &str,
    path: &str,
    base: &str,
    auth: &str,
) -> std::fmt::Result {
    let item = &doc["paths"][path];
    let op = &item[method];
    let id = op["operationId"].as_str().unwrap_or("op");
    let m = method.to_ascii_uppercase();
    write!(
        out,
        "<article class=\"op\" id=\"{}\"><h3><span class=\"method m-{method}\">{m}</span> \
         <code class=\"path\">{}</code></h3>",
        esc(id),
        esc(path)
    )?;
    if let Some(s) = op["summary"].as_str() {
        write!(out, "<p class=\"summary\">{}</p>", esc(s))?;
    }
    if let Some(s) = op["description"].as_str() {
        write!(out, "<p>{}</p>", esc(s))?;
    }
    let params: Vec<&Value> = item["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(op["parameters"].as_array().into_iter().flatten())
        .collect();
    if !params.is_empty() {
        out.push_str("<table class=\"params\"><tr><th>parameter</th><th>in</th><th></th></tr>");
        for p in params {
            write!(
                out,
                "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td></tr>",
                esc(p["name"].as_str().unwrap_or("")),
                if p["required"] == true { " *" } else { "" },
                esc(p["in"].as_str().unwrap_or("")),
                esc(p["description"].as_str().unwrap_or(""))
            )?;
        }
        out.push_str("</table>");
    }
    if let Some((ct, c)) = op["requestBody"]["content"]
        .as_object()
        .and_then(|m| m.iter().next())
    {
        write!(out, "<p>Body (<code>{}</code>):</p>", esc(ct))?;
        let fs = fields(doc, &c["schema"]);
        if !fs.is_empty() {
            out.push_str("<table class=\"fields\"><tr><th>field</th><th>type</th><th></th></tr>");
            for (k, ty, d) in fs {
                write!(
                    out,
                    "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                    esc(&k),
                    esc(&ty),
                    esc(&d)
                )?;
            }
            out.push_str("</table>");
        }
    }
    if let Some(rs) = op["responses"].as_object() {
        out.push_str("<ul class=\"responses\">");
        for (code, r) in rs {
            write!(
                out,
                "<li><code>{}</code> {}</li>",
                esc(code),
                esc(r["description"].as_str().unwrap_or(""))
            )?;
        }
        out.push_str("</ul>");
    }
    write!(
        out,
        "<pre class=\"curl\"><code>{}</code></pre></article>",
        esc(&curl_example(doc, method, path, base, auth))
    )
}

/// The whole page for a service at `base` (`http://host:port`).
pub fn render(doc: &Value, base: &str, token: bool) -> String {
    let auth = if token { "-u any:\"$TOKEN\"" } else { "" };
    let mut out = String::with_capacity(64 * 1024);
    let title = doc["info"]["title"].as_str().unwrap_or("API");
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} — API</title><link rel=\"stylesheet\" href=\"/api.css\"></head><body>\
         <header><h1>{t} <small>API {v}</small></h1><p>{d}</p>\
         <p>The machine-readable document: <a href=\"/v1/openapi.json\">/v1/openapi.json</a> \
         (OpenAPI 3.1). In the examples <code>$JOB</code> is a job id, <code>$PORT</code> a \
         BrowserMob proxy port{tok}.</p></header><nav><ul>",
        t = esc(title),
        v = esc(doc["info"]["version"].as_str().unwrap_or("")),
        d = esc(doc["info"]["description"].as_str().unwrap_or("")),
        tok = if token {
            ", <code>$TOKEN</code> the service's token"
        } else {
            ""
        }
    );
    let ops: Vec<(String, &str, &str)> = doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(path, item)| {
            METHODS.iter().filter(|m| item.get(**m).is_some()).map(|m| {
                let tag = item[*m]["tags"][0].as_str().unwrap_or("").to_string();
                (tag, *m, path.as_str())
            })
        })
        .collect();
    let mut tags: Vec<(String, String)> = doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t["name"].as_str().unwrap_or("").to_string(),
                t["description"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    tags.push((String::new(), "The document itself".into()));
    for (tag, desc) in &tags {
        let anchor = if tag.is_empty() { "other" } else { tag };
        let _ = write!(
            out,
            "<li><a href=\"#tag-{}\">{}</a></li>",
            esc(anchor),
            esc(if tag.is_empty() { desc } else { tag })
        );
    }
    out.push_str("</ul></nav><main>");
    for (tag, desc) in &tags {
        let anchor = if tag.is_empty() { "other" } else { tag };
        let _ = write!(
            out,
            "<section id=\"tag-{}\"><h2>{}</h2>",
            esc(anchor),
            esc(if tag.is_empty() { "Other" } else { tag })
        );
        if !tag.is_empty() {
            let _ = write!(out, "<p>{}</p>", esc(desc));
        }
        for (_, method, path) in ops.iter().filter(|(t, _, _)| t == tag) {
            let _ = operation(&mut out, doc, method, path, base, auth);
        }
        out.push_str("</section>");
    }
    out.push_str("</main></body></html>\n");
    out
}

pub(super) async fn api_page(axum::extract::State(svc): Svc, headers: HeaderMap) -> Response {
    let doc: Value = serde_json::from_str(OPENAPI).expect("the embedded OpenAPI document is JSON");
    // The Host the page was asked for (the Host check let it through).
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:7171");
    let html = render(&doc, &format!("http://{host}"), svc.opts.token.is_some());
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, view::server::CSP),
        ],
        html,
    )
        .into_response()
}

pub(super) async fn api_css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, view::server::CSP),
        ],
        CSS,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_a_curl_example_and_text_is_escaped() {
        let doc: Value = serde_json::from_str(OPENAPI).unwrap();
        let html = render(&doc, "http://127.0.0.1:7171", true);
        let ops: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|i| METHODS.iter().filter(|m| i.get(**m).is_some()).count())
            .sum();
        assert_eq!(html.matches("<pre class=\"curl\">").count(), ops);
        assert!(!html.contains("<script"));
        let create = curl_example(&doc, "post", "/v1/jobs", "http://h:1", "");
        assert_eq!(
            create,
            "curl -sS -H 'Content-Type: application/json' -d '{\"name\":\"checkout\",\"tags\":[\"ci\"]}' \"http://h:1/v1/jobs\""
        );
        let sauce = curl_example(
            &doc,
            "get",
            "/v1/rdc/jobs/{id}/network.har",
            "http://h:1",
            "-u any:\"$TOKEN\"",
        );
        assert_eq!(
            sauce,
            "curl -sS -u any:\"$TOKEN\" --compressed -o network.har \"http://h:1/v1/rdc/jobs/$JOB/network.har\""
        );
        let limit = curl_example(&doc, "put", "/proxy/{port}/limit", "http://h:1", "");
        assert_eq!(
            limit,
            "curl -sS -X PUT --data-urlencode 'latency=100' --data-urlencode 'downstreamKbps=512' \"http://h:1/proxy/$PORT/limit\""
        );
        assert_eq!(esc("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
    }
}
