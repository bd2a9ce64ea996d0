//! A small Chrome DevTools Protocol client: JSON messages over one WebSocket
//! (`tokio-tungstenite`), commands matched to their answers by `id`, events handed out
//! in the order they came, each with the flattened session it belongs to (`sessionId`).

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// An event: `method`, `params`, and the session (`None`: the browser's own).
#[derive(Debug)]
pub struct Event {
    pub method: String,
    pub params: Value,
    pub session: Option<String>,
}

/// Why a command failed.
#[derive(Debug, Clone)]
pub enum CallError {
    /// The browser answered with an error (`code` -32601: no such method).
    Protocol { code: i64, message: String },
    /// The connection closed before the answer.
    Closed,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Protocol { code, message } => write!(f, "{message} ({code})"),
            CallError::Closed => f.write_str("the browser closed the connection"),
        }
    }
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, CallError>>>>>;

/// A connected client; cheap to share (`Arc`).
pub struct Cdp {
    out: mpsc::UnboundedSender<Message>,
    pending: Pending,
    next: AtomicU64,
}

/// Connect to the DevTools WebSocket at `url`; events arrive on the receiver until the
/// connection closes (then it ends).
pub async fn connect(url: &str) -> Result<(Arc<Cdp>, mpsc::UnboundedReceiver<Event>), String> {
    let mut cfg = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default();
    // Response bodies come in one message (base64): allow large ones.
    cfg.max_message_size = Some(1 << 30);
    cfg.max_frame_size = Some(1 << 30);
    let (ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(cfg), true)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sink, mut stream) = ws.split();
    let (out, mut out_rx) = mpsc::unbounded_channel::<Message>();
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let pending: Pending = Arc::default();
    tokio::spawn(async move {
        while let Some(m) = out_rx.recv().await {
            if sink.send(m).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let p = pending.clone();
    tokio::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            let v: Value = match &msg {
                Message::Text(t) => match serde_json::from_str(t.as_str()) {
                    Ok(v) => v,
                    Err(_) => continue,
                },
                Message::Binary(b) => match serde_json::from_slice(b) {
                    Ok(v) => v,
                    Err(_) => continue,
                },
                Message::Close(_) => break,
                _ => continue,
            };
            dispatch(v, &p, &ev_tx);
        }
        // Closed: every command still waiting fails, and the events end.
        for (_, tx) in p.lock().unwrap().drain() {
            let _ = tx.send(Err(CallError::Closed));
        }
    });
    Ok((
        Arc::new(Cdp {
            out,
            pending,
            next: AtomicU64::new(1),
        }),
        ev_rx,
    ))
}

fn dispatch(mut v: Value, pending: &Pending, events: &mpsc::UnboundedSender<Event>) {
    if let Some(id) = v.get("id").and_then(Value::as_u64) {
        let Some(tx) = pending.lock().unwrap().remove(&id) else {
            return;
        };
        let r = match v.get_mut("error") {
            Some(e) => Err(CallError::Protocol {
                code: e.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: e
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("error")
                    .to_string(),
            }),
            None => Ok(v.get_mut("result").map(Value::take).unwrap_or(Value::Null)),
        };
        let _ = tx.send(r);
        return;
    }
    let Some(method) = v.get("method").and_then(Value::as_str).map(str::to_string) else {
        return;
    };
    let session = v
        .get("sessionId")
        .and_then(Value::as_str)
        .map(str::to_string);
    let params = v.get_mut("params").map(Value::take).unwrap_or(Value::Null);
    let _ = events.send(Event {
        method,
        params,
        session,
    });
}

impl Cdp {
    /// Send `method` to `session` (`None`: the browser) and wait for its answer.
    pub async fn call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, CallError> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, tx);
        if self.out.send(Message::text(msg.to_string())).is_err() {
            self.pending.lock().unwrap().remove(&id);
            return Err(CallError::Closed);
        }
        rx.await.unwrap_or(Err(CallError::Closed))
    }
}

/// The browser's DevTools WebSocket URL from an `http://host:port` endpoint
/// (`/json/version`), or the URL itself when it is already `ws://`.
pub async fn discover(endpoint: &str) -> Result<(String, String), String> {
    if endpoint.starts_with("ws://") || endpoint.starts_with("wss://") {
        return Ok((endpoint.to_string(), String::new()));
    }
    let with_scheme = if endpoint.contains("://") {
        endpoint.to_string()
    } else {
        format!("http://{endpoint}")
    };
    let u = url::Url::parse(&with_scheme).map_err(|e| format!("not a URL: {e}"))?;
    if u.scheme() != "http" {
        return Err("give http://HOST:PORT (or the ws:// URL of the browser)".into());
    }
    let host = u.host_str().ok_or("no host in the URL")?.to_string();
    let port = u.port_or_known_default().unwrap_or(80);
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let connect = tokio::net::TcpStream::connect((host.as_str(), port));
    let mut s = tokio::time::timeout(std::time::Duration::from_secs(5), connect)
        .await
        .map_err(|_| "no answer within 5 s".to_string())?
        .map_err(|e| format!("nothing answers ({e})"))?;
    // HTTP/1.1 (Chrome does not answer 1.0), and it keeps the connection open: the
    // body is read by its Content-Length.
    let req =
        format!("GET /json/version HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let read = async {
        let mut chunk = [0u8; 8192];
        loop {
            let n = s.read(&mut chunk).await.map_err(|e| e.to_string())?;
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let len = head.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim()
                        .eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())
                        .flatten()
                });
                if n == 0 || len.is_some_and(|l| body.len() >= l) {
                    return Ok(body.to_string());
                }
            }
            if n == 0 || buf.len() > 1 << 20 {
                return Err("/json/version: no complete answer".to_string());
            }
        }
    };
    let body = tokio::time::timeout(std::time::Duration::from_secs(5), read)
        .await
        .map_err(|_| "/json/version: no answer within 5 s".to_string())??;
    let body = body.as_str();
    let v: Value = serde_json::from_str(body)
        .map_err(|_| "answers, but not as a DevTools endpoint (/json/version)".to_string())?;
    let ws = v
        .get("webSocketDebuggerUrl")
        .and_then(Value::as_str)
        .ok_or("/json/version has no webSocketDebuggerUrl")?;
    let product = v
        .get("Browser")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    Ok((ws.to_string(), product))
}
