//! WebSocket: after the 101, bytes are relayed both ways untouched while a parser on
//! each direction records the messages as Chrome does in `_webSocketMessages`
//! (`type` send/receive, `time` in epoch seconds, `opcode`, `data`: text, or base64 for
//! binary). Control frames are relayed, not recorded. Recorded data is capped.

use base64::Engine;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

#[derive(Default)]
pub struct Messages {
    pub list: Vec<Value>,
    pub bytes: usize,
    pub cap: usize,
    pub truncated: bool,
}

enum State {
    Header,
    Payload { left: u64 },
}

/// Incremental frame parser for one direction.
pub struct Parser {
    send: bool,
    state: State,
    head: Vec<u8>,
    mask: Option<[u8; 4]>,
    mask_pos: usize,
    fin: bool,
    opcode: u8,
    /// The message being assembled (data frames and their continuations).
    msg_opcode: u8,
    msg: Vec<u8>,
    msg_cut: bool,
    msgs: Arc<Mutex<Messages>>,
}

impl Parser {
    pub fn new(send: bool, msgs: Arc<Mutex<Messages>>) -> Parser {
        Parser {
            send,
            state: State::Header,
            head: Vec::with_capacity(14),
            mask: None,
            mask_pos: 0,
            fin: false,
            opcode: 0,
            msg_opcode: 0,
            msg: Vec::new(),
            msg_cut: false,
            msgs,
        }
    }

    /// The header length once enough bytes are there.
    fn header_len(h: &[u8]) -> Option<usize> {
        if h.len() < 2 {
            return None;
        }
        let masked = h[1] & 0x80 != 0;
        let ext = match h[1] & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        Some(2 + ext + if masked { 4 } else { 0 })
    }

    pub fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match self.state {
                State::Header => {
                    let need = Self::header_len(&self.head).unwrap_or(2);
                    let take = (need - self.head.len()).min(data.len());
                    self.head.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if Self::header_len(&self.head) == Some(self.head.len()) {
                        self.start_frame();
                    }
                }
                State::Payload { left } => {
                    let take = (left as usize).min(data.len());
                    self.payload(&data[..take]);
                    data = &data[take..];
                    let left = left - take as u64;
                    self.state = State::Payload { left };
                    if left == 0 {
                        self.end_frame();
                    }
                }
            }
        }
    }

    fn start_frame(&mut self) {
        let h = std::mem::take(&mut self.head);
        self.fin = h[0] & 0x80 != 0;
        self.opcode = h[0] & 0x0f;
        let masked = h[1] & 0x80 != 0;
        let (len, at) = match h[1] & 0x7f {
            126 => (u64::from(u16::from_be_bytes([h[2], h[3]])), 4),
            127 => (u64::from_be_bytes(h[2..10].try_into().unwrap()), 10),
            n => (u64::from(n), 2),
        };
        self.mask = masked.then(|| h[at..at + 4].try_into().unwrap());
        self.mask_pos = 0;
        if self.opcode == 1 || self.opcode == 2 {
            self.msg_opcode = self.opcode;
            self.msg.clear();
            self.msg_cut = false;
        }
        self.state = State::Payload { left: len };
        if len == 0 {
            self.end_frame();
        }
    }

    fn payload(&mut self, d: &[u8]) {
        let data_frame = matches!(self.opcode, 0..=2);
        if !data_frame {
            return;
        }
        let room = {
            let m = self.msgs.lock().unwrap();
            m.cap.saturating_sub(m.bytes + self.msg.len())
        };
        let keep = d.len().min(room);
        if keep < d.len() {
            self.msg_cut = true;
        }
        let start = self.msg.len();
        self.msg.extend_from_slice(&d[..keep]);
        if let Some(mask) = self.mask {
            for (i, b) in self.msg[start..].iter_mut().enumerate() {
                *b ^= mask[(self.mask_pos + i) % 4];
            }
        }
        self.mask_pos += d.len();
    }

    fn end_frame(&mut self) {
        self.state = State::Header;
        if !matches!(self.opcode, 0..=2) || !self.fin {
            return;
        }
        let time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let data = if self.msg_opcode == 1 {
            String::from_utf8_lossy(&self.msg).into_owned()
        } else {
            base64::engine::general_purpose::STANDARD.encode(&self.msg)
        };
        let mut m = self.msgs.lock().unwrap();
        m.bytes += self.msg.len();
        if self.msg_cut {
            m.truncated = true;
        }
        m.list.push(json!({
            "type": if self.send { "send" } else { "receive" },
            "time": time,
            "opcode": self.msg_opcode,
            "data": data,
        }));
        self.msg.clear();
    }
}

/// Copy `from` to `to`, feeding every byte to `parser`, until either side closes.
pub async fn pump<R, W>(mut from: R, mut to: W, mut parser: Parser) -> u64
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 16 * 1024];
    let mut n_total = 0u64;
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        parser.feed(&buf[..n]);
        n_total += n as u64;
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
    n_total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(fin: bool, op: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
        let mut f = vec![(if fin { 0x80 } else { 0 }) | op];
        let m = if mask.is_some() { 0x80 } else { 0 };
        match payload.len() {
            n if n < 126 => f.push(m | n as u8),
            n if n < 65536 => {
                f.push(m | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(m | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        match mask {
            Some(k) => {
                f.extend_from_slice(&k);
                f.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
            }
            None => f.extend_from_slice(payload),
        }
        f
    }

    #[test]
    fn masked_fragmented_and_long_frames_byte_by_byte() {
        let msgs = Arc::new(Mutex::new(Messages {
            cap: 1 << 20,
            ..Default::default()
        }));
        let mut p = Parser::new(true, msgs.clone());
        let mut wire = frame(true, 1, b"hello", Some([1, 2, 3, 4]));
        wire.extend(frame(true, 9, b"ping", Some([9, 9, 9, 9])));
        wire.extend(frame(false, 1, b"frag", Some([5, 6, 7, 8])));
        wire.extend(frame(true, 0, b"mented", Some([1, 1, 1, 1])));
        let big = vec![7u8; 70_000];
        wire.extend(frame(true, 2, &big, Some([3, 1, 4, 1])));
        for b in &wire {
            p.feed(std::slice::from_ref(b));
        }
        let m = msgs.lock().unwrap();
        assert_eq!(m.list.len(), 3, "{:?}", m.list);
        assert_eq!(m.list[0]["data"], "hello");
        assert_eq!(m.list[0]["type"], "send");
        assert_eq!(m.list[1]["data"], "fragmented");
        assert_eq!(m.list[2]["opcode"], 2);
        let d = base64::engine::general_purpose::STANDARD
            .decode(m.list[2]["data"].as_str().unwrap())
            .unwrap();
        assert_eq!(d, big);
    }

    #[test]
    fn recorded_bytes_are_capped() {
        let msgs = Arc::new(Mutex::new(Messages {
            cap: 3,
            ..Default::default()
        }));
        let mut p = Parser::new(false, msgs.clone());
        p.feed(&frame(true, 1, b"abcdef", None));
        let m = msgs.lock().unwrap();
        assert_eq!(m.list[0]["data"], "abc");
        assert!(m.truncated);
    }
}
