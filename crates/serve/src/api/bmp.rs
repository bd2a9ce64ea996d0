//! BrowserMob Proxy's REST API (`/proxy/...`): each BrowserMob proxy is a job of kind
//! [`Kind::BrowserMob`] whose rules the calls change.

use super::har_stream::stream_har;
use super::{json_ok, parse_bool, parse_json, ApiError, Res, Svc};
use crate::jobs::{BlacklistRule, Capture, Kind, NewJob, Page, Whitelist};
use crate::{now_ms, Service};
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State as AxState};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Form fields (BrowserMob clients send `application/x-www-form-urlencoded` bodies) and
/// query parameters, merged (the body's win).
pub(super) struct Form(HashMap<String, String>);

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Form, Response> {
        let mut m: HashMap<String, String> = req
            .uri()
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        let body = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        m.extend(url::form_urlencoded::parse(&body).into_owned());
        Ok(Form(m))
    }
}

fn bool_field(f: &HashMap<String, String>, name: &str, default: bool) -> Result<bool, ApiError> {
    match f.get(name) {
        None => Ok(default),
        Some(v) => parse_bool(v)
            .ok_or_else(|| ApiError::bad(format!("{name}: expected true or false, got {v:?}"))),
    }
}

fn num_field<T: std::str::FromStr>(
    f: &HashMap<String, String>,
    name: &str,
) -> Result<Option<T>, ApiError> {
    match f.get(name).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| ApiError::bad(format!("{name}: expected a number, got {v:?}"))),
    }
}

/// The BrowserMob proxy a `/proxy/{port}/...` path names: its job (else 400 or 404).
pub(super) struct Proxy {
    svc: Arc<Service>,
    job: Arc<crate::Job>,
    port: String,
}

impl FromRequestParts<Arc<Service>> for Proxy {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, svc: &Arc<Service>) -> Result<Proxy, Response> {
        let Path(port) = Path::<String>::from_request_parts(parts, svc)
            .await
            .map_err(IntoResponse::into_response)?;
        let job = bmp_port(svc, &port).map_err(IntoResponse::into_response)?;
        Ok(Proxy {
            svc: svc.clone(),
            job,
            port,
        })
    }
}

fn bmp_port(svc: &Service, port: &str) -> Result<Arc<crate::Job>, ApiError> {
    let p: u16 = port
        .parse()
        .map_err(|_| ApiError::bad(format!("invalid proxy port {port:?}")))?;
    svc.bmp_job(p)
        .ok_or_else(|| ApiError::not_found(format!("no proxy on port {p}")))
}

pub(super) async fn bmp_create(AxState(svc): Svc, Form(f): Form) -> Res {
    let port = num_field::<u16>(&f, "port")?.unwrap_or(0);
    // trustAllServers: BrowserMob's switch for not verifying upstream certificates.
    if bool_field(&f, "trustAllServers", false)? && !svc.opts.insecure_upstream {
        return Err(ApiError::bad(
            "trustAllServers=true: start hark serve with --insecure-upstream to allow it",
        ));
    }
    let job = svc.create(NewJob {
        name: format!(
            "browsermob proxy {}",
            if port == 0 {
                "".into()
            } else {
                port.to_string()
            }
        )
        .trim()
        .to_string(),
        kind: Kind::BrowserMob,
        capture: Capture::browsermob(),
        recording: false,
        port,
        ..NewJob::default()
    })?;
    let proxy = job.meta().proxy;
    let addr = proxy
        .as_deref()
        .and_then(|p| p.parse::<std::net::SocketAddr>().ok())
        .ok_or_else(|| {
            ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the new proxy has no address ({proxy:?})"),
            )
        })?;
    Ok(json_ok(json!({"port": addr.port()})))
}

pub(super) async fn bmp_list(AxState(svc): Svc) -> Res {
    let list: Vec<Value> = svc
        .bmp_ports()
        .into_iter()
        .map(|p| json!({"port": p}))
        .collect();
    Ok(json_ok(json!({"proxyList": list})))
}

pub(super) async fn bmp_delete(Proxy { job, svc, port }: Proxy) -> Res {
    let p: u16 = port
        .parse()
        .map_err(|_| ApiError::bad(format!("invalid proxy port {port:?}")))?;
    svc.close_bmp(p).await?;
    let _ = job;
    let _ = svc.enforce_retention().await;
    Ok(StatusCode::OK.into_response())
}

pub(super) async fn bmp_new_har(Proxy { job, .. }: Proxy, Form(f): Form) -> Res {
    let capture = Capture {
        headers: bool_field(&f, "captureHeaders", false)?,
        cookies: bool_field(&f, "captureCookies", false)?,
        content: bool_field(&f, "captureContent", false)?,
        binary_content: bool_field(&f, "captureBinaryContent", false)?,
        max_body_bytes: None,
    };
    let id = f
        .get("initialPageRef")
        .cloned()
        .unwrap_or_else(|| "Page 0".into());
    let title = f
        .get("initialPageTitle")
        .cloned()
        .unwrap_or_else(|| id.clone());
    let page = Page {
        id,
        title,
        started_ms: now_ms(),
    };
    match job.new_har(capture, page)? {
        Some(prev) => Ok(([(header::CONTENT_TYPE, "application/json")], prev).into_response()),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

pub(super) async fn bmp_new_page(Proxy { job, port, .. }: Proxy, Form(f): Form) -> Res {
    if !job.meta().recording {
        return Err(ApiError::not_found(format!(
            "no HAR on proxy {port}: PUT /proxy/{port}/har first"
        )));
    }
    let n = job.meta().pages.len();
    let id = f
        .get("pageRef")
        .cloned()
        .unwrap_or_else(|| format!("Page {n}"));
    let title = f.get("pageTitle").cloned();
    job.add_page(Some(id), title)?;
    Ok(StatusCode::OK.into_response())
}

pub(super) async fn bmp_har(Proxy { job, svc, port }: Proxy) -> Res {
    if !job.meta().recording {
        return Err(ApiError::not_found(format!(
            "no HAR on proxy {port}: PUT /proxy/{port}/har first"
        )));
    }
    Ok(stream_har(&svc, &job, false, har::Style::Compact, false)?)
}

fn rules_update(job: &crate::Job, f: impl FnOnce(&mut crate::jobs::Meta)) -> Res {
    match job.update(f)? {
        Ok(()) => Ok(StatusCode::OK.into_response()),
        Err(e) => Err(ApiError::bad(e)),
    }
}

/// The `regex` and `status` every blacklist and whitelist call carries.
fn rule_fields(f: &HashMap<String, String>) -> Result<(String, u16), ApiError> {
    let regex = f
        .get("regex")
        .cloned()
        .ok_or_else(|| ApiError::bad("regex: required"))?;
    let status = num_field::<u16>(f, "status")?
        .ok_or_else(|| ApiError::bad("status: required (the HTTP status to answer with)"))?;
    Ok((regex, status))
}

pub(super) async fn bmp_blacklist_put(Proxy { job, .. }: Proxy, Form(f): Form) -> Res {
    let (regex, status) = rule_fields(&f)?;
    let method = f.get("method").cloned().filter(|m| !m.is_empty());
    rules_update(&job, |m| {
        m.blacklist.push(BlacklistRule {
            regex,
            status,
            method,
        })
    })
}

pub(super) async fn bmp_blacklist_get(Proxy { job, .. }: Proxy) -> Res {
    let list: Vec<Value> = job
        .meta()
        .blacklist
        .iter()
        .map(|b| json!({"urlPattern": b.regex, "statusCode": b.status, "httpMethodPattern": b.method}))
        .collect();
    Ok(json_ok(Value::Array(list)))
}

pub(super) async fn bmp_blacklist_clear(Proxy { job, .. }: Proxy) -> Res {
    rules_update(&job, |m| m.blacklist.clear())
}

pub(super) async fn bmp_whitelist_put(Proxy { job, .. }: Proxy, Form(f): Form) -> Res {
    let (regex, status) = rule_fields(&f)?;
    // BrowserMob: a comma-separated list of regular expressions.
    let list: Vec<String> = regex
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    rules_update(&job, |m| {
        m.whitelist = Some(Whitelist {
            regex: list,
            status,
        })
    })
}

pub(super) async fn bmp_whitelist_get(Proxy { job, .. }: Proxy) -> Res {
    let list = job.meta().whitelist.map(|w| w.regex).unwrap_or_default();
    Ok(json_ok(json!(list)))
}

pub(super) async fn bmp_whitelist_clear(Proxy { job, .. }: Proxy) -> Res {
    rules_update(&job, |m| m.whitelist = None)
}

pub(super) async fn bmp_headers(Proxy { job, .. }: Proxy, body: Bytes) -> Res {
    let v: Value = parse_json(&body)?;
    let Value::Object(o) = v else {
        return Err(ApiError::bad(
            "expected a JSON object of header names to values",
        ));
    };
    let mut h = BTreeMap::new();
    for (k, v) in o {
        let v = match v {
            Value::String(s) => s,
            other => other.to_string(),
        };
        h.insert(k, v);
    }
    rules_update(&job, |m| m.headers.extend(h))
}

pub(super) async fn bmp_limit_put(Proxy { job, .. }: Proxy, Form(f): Form) -> Res {
    for k in ["upstreamMaxKB", "downstreamMaxKB", "maxBitsPerSecond"] {
        if num_field::<u64>(&f, k)?.unwrap_or(0) > 0 {
            return Err(ApiError(
                StatusCode::NOT_IMPLEMENTED,
                format!(
                    "{k} is not supported by hark serve \
                     (latency, upstreamKbps and downstreamKbps are)"
                ),
            ));
        }
    }
    let latency = num_field::<u64>(&f, "latency")?;
    let up = num_field::<u64>(&f, "upstreamKbps")?;
    let down = num_field::<u64>(&f, "downstreamKbps")?;
    rules_update(&job, |m| {
        if let Some(l) = latency {
            m.latency_ms = l;
        }
        if let Some(u) = up {
            m.upstream_kbps = u;
        }
        if let Some(d) = down {
            m.downstream_kbps = d;
        }
    })
}

pub(super) async fn bmp_limit_get(Proxy { job, .. }: Proxy) -> Res {
    let m = job.meta();
    Ok(json_ok(json!({
        "latency": m.latency_ms,
        "upstreamKbps": m.upstream_kbps,
        "downstreamKbps": m.downstream_kbps,
    })))
}
