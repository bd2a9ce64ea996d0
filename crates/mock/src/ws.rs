//! WebSocket messages replayed on an upgrade: the recorded entry's `_webSocketMessages`
//! (Chrome's and hark record's format: `type` send/receive, `opcode` 1 text or 2
//! binary, `data`, base64 for binary) are played in order — each recorded `receive` is
//! sent, each recorded `send` waits for one message from the client — then the
//! connection stays open until the client closes it.

use base64::Engine;
use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use record::ws::{Messages, Parser};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// One recorded message.
struct Msg {
    receive: bool,
    opcode: u8,
    data: Vec<u8>,
}

fn messages(entry: &[u8]) -> Option<Vec<Msg>> {
    use har::{Json, JsonObject};
    let tree = har::lite::parse(entry).ok()?;
    let list = tree.as_object()?.get("_webSocketMessages")?.as_array()?;
    let mut out = Vec::new();
    for m in list {
        let o = m.as_object()?;
        let opcode = o.get("opcode").and_then(|v| v.as_i64()).unwrap_or(1) as u8;
        let data = o.get("data").and_then(|v| v.as_str()).unwrap_or("");
        let data = if opcode == 2 {
            har::http::base64_bytes(data).unwrap_or_else(|| data.as_bytes().to_vec())
        } else {
            data.as_bytes().to_vec()
        };
        out.push(Msg {
            receive: o.get("type").and_then(|v| v.as_str()) == Some("receive"),
            opcode: if opcode == 2 { 2 } else { 1 },
            data,
        });
    }
    Some(out)
}

/// The 101 for an entry that has messages (`None`: it has none; answer as usual), and
/// the replay started on the upgraded connection.
pub fn accept(entry: &[u8], key: &str, on: OnUpgrade) -> Option<Response<Full<Bytes>>> {
    let msgs = messages(entry)?;
    let digest = ring::digest::digest(
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        format!("{key}{GUID}").as_bytes(),
    );
    let accept = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
    tokio::spawn(async move {
        if let Ok(up) = on.await {
            play(TokioIo::new(up), msgs).await;
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(http::header::UPGRADE, "websocket")
        .header(http::header::CONNECTION, "Upgrade")
        .header(http::header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(Full::default())
        .ok()
}

/// A server frame (not masked), FIN set.
pub fn frame(opcode: u8, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x80 | opcode];
    match data.len() {
        n if n < 126 => f.push(n as u8),
        n if n <= 0xffff => {
            f.push(126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(data);
    f
}

async fn play<I: AsyncRead + AsyncWrite + Unpin>(io: I, msgs: Vec<Msg>) {
    let (mut rd, mut wr) = tokio::io::split(io);
    // The client's messages, parsed as `hark record` parses them.
    let got = Arc::new(Mutex::new(Messages {
        cap: 1 << 20,
        ..Messages::default()
    }));
    let mut parser = Parser::new(true, got.clone());
    let mut buf = vec![0u8; 16 << 10];
    let mut waited = 0;
    for m in msgs {
        if m.receive {
            if wr.write_all(&frame(m.opcode, &m.data)).await.is_err() {
                return;
            }
            continue;
        }
        waited += 1;
        while got.lock().unwrap().list.len() < waited {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => parser.feed(&buf[..n]),
            }
        }
    }
    let _ = wr.flush().await;
    // Then until the client goes: answer its close with a close.
    loop {
        match rd.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if buf[..n].first().is_some_and(|b| b & 0x0f == 8) {
                    let _ = wr.write_all(&frame(8, &[])).await;
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn frames() {
        assert_eq!(super::frame(1, b"hi"), vec![0x81, 2, b'h', b'i']);
        let long = super::frame(2, &[0u8; 300]);
        assert_eq!(&long[..4], &[0x82, 126, 1, 44]);
    }
}
