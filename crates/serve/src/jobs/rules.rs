//! A job's rules compiled for its proxy ([`Rules`]: scope, blacklist, whitelist, headers,
//! latency, bandwidth), and the per-request policies of a job's own port and of the
//! shared port.

use super::{Job, Meta, Service, State};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use regex::Regex;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// The rules compiled for the proxy's per-request policy.
#[derive(Default)]
pub(super) struct Rules {
    pub(super) scope: Vec<Regex>,
    blacklist: Vec<(Regex, u16, Option<Regex>)>,
    whitelist: Option<(Vec<Regex>, u16)>,
    headers: Vec<(HeaderName, HeaderValue)>,
    latency: Duration,
    /// Shared by every request of the job, as BrowserMob limits the whole proxy.
    upstream: Option<Arc<record::Throttle>>,
    downstream: Option<Arc<record::Throttle>>,
}

fn compile(p: &str) -> Result<Regex, String> {
    Regex::new(p).map_err(|e| format!("bad regular expression {p:?}: {e}"))
}

impl Rules {
    pub(super) fn from_meta(m: &Meta) -> Result<Rules, String> {
        let mut r = Rules {
            latency: Duration::from_millis(m.latency_ms),
            upstream: record::Throttle::new(m.upstream_kbps.saturating_mul(1024)),
            downstream: record::Throttle::new(m.downstream_kbps.saturating_mul(1024)),
            ..Rules::default()
        };
        for s in &m.scope {
            r.scope.push(compile(s)?);
        }
        for b in &m.blacklist {
            if !(100..=599).contains(&b.status) {
                return Err(format!(
                    "blacklist status {} is not an HTTP status",
                    b.status
                ));
            }
            let method = b.method.as_deref().map(compile).transpose()?;
            r.blacklist.push((compile(&b.regex)?, b.status, method));
        }
        if let Some(w) = &m.whitelist {
            if !(100..=599).contains(&w.status) {
                return Err(format!(
                    "whitelist status {} is not an HTTP status",
                    w.status
                ));
            }
            let list = w
                .regex
                .iter()
                .map(|s| compile(s))
                .collect::<Result<_, _>>()?;
            r.whitelist = Some((list, w.status));
        }
        for (k, v) in &m.headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| format!("bad header name {k:?}"))?;
            let value =
                HeaderValue::from_str(v).map_err(|_| format!("bad value for header {k:?}"))?;
            r.headers.push((name, value));
        }
        Ok(r)
    }
}

/// A job's own proxy port. With a service token (`--token`, or any listen address
/// beyond loopback) every request and `CONNECT` must carry `Proxy-Authorization: Basic`
/// with the token as password (any user name); the header is not recorded.
pub(super) struct JobPolicy {
    pub(super) job: Weak<Job>,
    pub(super) token: Option<record::ProxyToken>,
}

impl record::Policy for JobPolicy {
    fn request(
        &self,
        tag: Option<&Arc<str>>,
        method: &Method,
        url: &str,
        headers: &HeaderMap,
    ) -> record::Decision {
        let Some(job) = self.job.upgrade() else {
            return record::Decision::default();
        };
        if let Some(t) = &self.token {
            // Requests inside a tunnel were authorised by its CONNECT.
            let in_tunnel = tag.is_some_and(|t| &**t == record::TUNNEL_OK);
            if !in_tunnel && !t.accepts(headers) {
                return record::Decision::answer(407);
            }
        }
        if job.state() != State::Running {
            // A connection kept alive past the job's stop gets nothing more through.
            return record::Decision::answer(503);
        }
        let mut d = job.decide(method, url);
        if self.token.is_some() {
            d.headers.push((http::header::PROXY_AUTHORIZATION, None));
        }
        d
    }

    fn connect(&self, _authority: &str, headers: &HeaderMap) -> record::Decision {
        match &self.token {
            None => record::Decision::default(),
            Some(t) if t.accepts(headers) => record::Decision {
                tag: Some(Arc::from(record::TUNNEL_OK)),
                ..record::Decision::default()
            },
            Some(_) => record::Decision::answer(407),
        }
    }
}

/// The shared port's policy: the job comes from the tunnel's tag or the request's
/// `Proxy-Authorization` (removed, so it is not recorded), then that job's rules apply.
pub(super) struct SharedPolicy(pub(super) Weak<Service>);

impl record::Policy for SharedPolicy {
    fn request(
        &self,
        tag: Option<&Arc<str>>,
        method: &Method,
        url: &str,
        headers: &HeaderMap,
    ) -> record::Decision {
        let refuse = record::Decision::answer(407);
        let Some(svc) = self.0.upgrade() else {
            return refuse;
        };
        let job = match tag {
            Some(t) => svc.job(t).filter(|j| j.state() == State::Running),
            None => svc.job_of(headers),
        };
        let Some(job) = job else { return refuse };
        let mut d = job.decide(method, url);
        d.tag = Some(Arc::from(job.id.as_str()));
        // The job's credentials are not recorded.
        d.headers.push((http::header::PROXY_AUTHORIZATION, None));
        d
    }

    fn connect(&self, _authority: &str, headers: &HeaderMap) -> record::Decision {
        let job = self.0.upgrade().and_then(|svc| svc.job_of(headers));
        match job {
            Some(j) => record::Decision {
                tag: Some(Arc::from(j.id.as_str())),
                ..record::Decision::default()
            },
            None => record::Decision::answer(407),
        }
    }
}

impl Job {
    /// The job's rules for one request (blacklist, whitelist, headers, latency, bandwidth).
    fn decide(&self, method: &Method, url: &str) -> record::Decision {
        let mut d = record::Decision::default();
        let r = self.rules.read().unwrap();
        if let Some((list, status)) = &r.whitelist {
            if !list.iter().any(|re| re.is_match(url)) {
                d.answer = Some(*status);
                return d;
            }
        }
        for (re, status, m) in &r.blacklist {
            if re.is_match(url) && m.as_ref().is_none_or(|m| m.is_match(method.as_str())) {
                d.answer = Some(*status);
                return d;
            }
        }
        for (k, v) in &r.headers {
            d.headers.push((k.clone(), Some(v.clone())));
        }
        d.delay = r.latency;
        d.upstream = r.upstream.clone();
        d.downstream = r.downstream.clone();
        d
    }
}
