//! An OpenAPI 3.1 document from a [`Report`].

use crate::sample::{Auth, Loc};
use crate::{Endpoint, Report};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

fn scheme_name(a: &Auth) -> String {
    let clean = |n: &str| -> String {
        n.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect()
    };
    match a {
        Auth::Bearer | Auth::BearerJwt => "bearerAuth".into(),
        Auth::Basic => "basicAuth".into(),
        Auth::SessionCookie(n) => format!("cookie_{}", clean(n)),
        Auth::ApiKeyHeader(n) => format!("header_{}", clean(n)),
        Auth::ApiKeyQuery(n) => format!("query_{}", clean(n)),
    }
}

fn scheme_def(a: &Auth) -> Value {
    match a {
        Auth::Bearer => json!({"type": "http", "scheme": "bearer"}),
        Auth::BearerJwt => json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}),
        Auth::Basic => json!({"type": "http", "scheme": "basic"}),
        Auth::SessionCookie(n) => json!({"type": "apiKey", "in": "cookie", "name": n}),
        Auth::ApiKeyHeader(n) => json!({"type": "apiKey", "in": "header", "name": n}),
        Auth::ApiKeyQuery(n) => json!({"type": "apiKey", "in": "query", "name": n}),
    }
}

fn scalar(ty: &str, format: Option<&str>, example: Option<&str>) -> Value {
    let mut m = Map::new();
    let types: Vec<&str> = ty.split('|').filter(|t| !t.is_empty()).collect();
    let t = if types.len() == 1 { types[0] } else { "string" };
    m.insert("type".into(), json!(t));
    if let (Some(f), "string") = (format, t) {
        m.insert("format".into(), json!(f));
    }
    if let (Some(e), "string") = (example, t) {
        m.insert("examples".into(), json!([e]));
    }
    Value::Object(m)
}

fn operation(e: &Endpoint, op_id: String) -> Value {
    let mut params = Vec::new();
    let mut form: BTreeMap<Loc, (Map<String, Value>, Vec<Value>)> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    // Credentials are security schemes, not parameters.
    let credential = |loc: Loc, name: &str| {
        e.auth.iter().any(|a| match (a, loc) {
            (Auth::SessionCookie(n), Loc::Cookie) => n == name,
            (Auth::ApiKeyHeader(n), Loc::Header) => n.eq_ignore_ascii_case(name),
            (Auth::ApiKeyQuery(n), Loc::Query) => n == name,
            _ => false,
        })
    };
    for p in &e.params {
        if credential(p.loc, &p.name) {
            continue;
        }
        match p.loc {
            Loc::Path | Loc::Query | Loc::Header | Loc::Cookie => {
                if !seen.insert((p.loc, p.name.to_ascii_lowercase())) {
                    continue;
                }
                params.push(json!({
                    "name": p.name,
                    "in": p.loc.as_str(),
                    "required": p.required || p.loc == Loc::Path,
                    "schema": scalar(&p.ty, p.format.as_deref(), p.example.as_deref()),
                }));
            }
            Loc::Form | Loc::Multipart => {
                let (props, req) = form.entry(p.loc).or_default();
                props.insert(
                    p.name.clone(),
                    scalar(&p.ty, p.format.as_deref(), p.example.as_deref()),
                );
                if p.required {
                    req.push(json!(p.name));
                }
            }
            Loc::Json => {}
        }
    }
    let mut op = Map::new();
    op.insert("operationId".into(), json!(op_id));
    op.insert(
        "summary".into(),
        json!(format!("{} {} ({} samples)", e.method, e.path, e.samples)),
    );
    if !params.is_empty() {
        op.insert("parameters".into(), Value::Array(params));
    }
    let mut content = Map::new();
    if let Some(j) = &e.acc.request_json {
        let t = e
            .request_types
            .iter()
            .find(|t| t.contains("json"))
            .cloned()
            .unwrap_or_else(|| "application/json".into());
        content.insert(t, json!({"schema": j.to_json()}));
    }
    for (loc, (props, req)) in form {
        let t = if loc == Loc::Form {
            "application/x-www-form-urlencoded"
        } else {
            "multipart/form-data"
        };
        let mut s = json!({"type": "object", "properties": props});
        if !req.is_empty() {
            s["required"] = Value::Array(req);
        }
        content.insert(t.into(), json!({"schema": s}));
    }
    if !content.is_empty() {
        op.insert("requestBody".into(), json!({"content": content}));
    }
    let mut responses = Map::new();
    for st in e.statuses.keys() {
        let mut r = Map::new();
        r.insert("description".into(), json!(format!("HTTP {st}")));
        if let Some(s) = e.acc.response_json.get(st) {
            let t = e
                .response_types
                .iter()
                .find(|t| t.contains("json"))
                .cloned()
                .unwrap_or_else(|| "application/json".into());
            r.insert("content".into(), json!({ t: {"schema": s.to_json()} }));
        }
        let code = if (100..600).contains(st) {
            st.to_string()
        } else {
            "default".into()
        };
        responses.insert(code, Value::Object(r));
    }
    if responses.is_empty() {
        responses.insert(
            "default".into(),
            json!({"description": "no response recorded"}),
        );
    }
    op.insert("responses".into(), Value::Object(responses));
    if !e.auth.is_empty() {
        // Credentials sent together are one requirement; other combinations seen are
        // alternatives.
        let mut sec: Vec<Value> = e
            .acc
            .auth_sets
            .keys()
            .map(|set| {
                let m: Map<String, Value> =
                    set.iter().map(|a| (scheme_name(a), json!([]))).collect();
                Value::Object(m)
            })
            .collect();
        sec.dedup();
        if e.unauthenticated > 0 && e.denied_without_auth < e.unauthenticated {
            sec.push(json!({}));
        }
        op.insert("security".into(), Value::Array(sec));
    }
    Value::Object(op)
}

/// The OpenAPI 3.1 document.
pub fn document(r: &Report, title: &str) -> Value {
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut schemes = Map::new();
    let mut servers = std::collections::BTreeSet::new();
    let mut ids = std::collections::BTreeSet::new();
    for e in &r.endpoints {
        for s in &e.acc.schemes {
            servers.insert(format!("{s}://{}", e.host));
        }
        for a in &e.auth {
            schemes.insert(scheme_name(a), scheme_def(a));
        }
        let method = e.method.to_ascii_lowercase();
        if !matches!(
            method.as_str(),
            "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace"
        ) {
            continue;
        }
        if e.kind == "page" {
            continue;
        }
        let path = e.path.clone();
        let item = paths.entry(path).or_default();
        if !item.contains_key(&method) {
            let mut base: String = format!("{method}{}", e.path)
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            while base.contains("__") {
                base = base.replace("__", "_");
            }
            let base = base.trim_end_matches('_').to_string();
            let mut id = base.clone();
            let mut n = 2;
            while !ids.insert(id.clone()) {
                id = format!("{base}_{n}");
                n += 1;
            }
            item.insert(method.clone(), operation(e, id));
        }
        if let Some(op) = &e.operation {
            // GraphQL operations and JSON-RPC methods under their one HTTP operation.
            let (ext, kind, name) = match op.strip_prefix("rpc ") {
                Some(m) => ("x-jsonrpc-methods", None, m),
                None => {
                    let (k, n) = op.split_once(' ').unwrap_or(("query", op));
                    ("x-graphql-operations", Some(k), n)
                }
            };
            let o = item
                .get_mut(&method)
                .and_then(Value::as_object_mut)
                .expect("inserted");
            let list = o.entry(ext).or_insert_with(|| json!([]));
            let mut one = json!({"name": name, "samples": e.samples});
            if let Some(k) = kind {
                one["type"] = json!(k);
            }
            if let Some(j) = &e.acc.request_json {
                one["params"] = j.to_json();
            }
            if let Some(a) = list.as_array_mut() {
                a.push(one);
            }
        }
    }
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": "recorded",
            "description": "Inferred by hark surface from a HAR recording.",
        },
        "servers": servers.iter().map(|s| json!({"url": s})).collect::<Vec<_>>(),
        "paths": paths,
    });
    if !schemes.is_empty() {
        doc["components"] = json!({ "securitySchemes": schemes });
    }
    doc
}

/// The document of the HAR at `file` (`-`: standard input), titled after its file
/// name, as written to `out`: YAML when its name ends in `.yaml` or `.yml`, else JSON.
pub fn file_bytes(r: &Report, file: &str, out: &str) -> Vec<u8> {
    let title = std::path::Path::new(file)
        .file_name()
        .map_or_else(|| file.to_string(), |f| f.to_string_lossy().into_owned());
    let doc = document(r, &format!("{title} (recorded)"));
    let l = out.to_ascii_lowercase();
    if l.ends_with(".yaml") || l.ends_with(".yml") {
        crate::yaml::to_string(&doc).into_bytes()
    } else {
        crate::pretty(&doc)
    }
}
