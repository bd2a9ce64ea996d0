// A WebSocket echo at /ws for the local test sites (no dependencies): text messages come
// back as `echo: …`, binary ones as they are; a close is answered with a close.

import crypto from 'node:crypto';

export function wsUpgrade(req, socket) {
  if (new URL(req.url, 'http://x').pathname !== '/ws') return socket.destroy();
  const accept = crypto.createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  let buf = Buffer.alloc(0);
  socket.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      if (buf.length < 2) return;
      const op = buf[0] & 0x0f, masked = buf[1] & 0x80;
      let len = buf[1] & 0x7f, at = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); at = 4; }
      else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); at = 10; }
      const need = at + (masked ? 4 : 0) + len;
      if (buf.length < need) return;
      const mask = masked ? buf.subarray(at, at + 4) : null;
      const payload = Buffer.from(buf.subarray(at + (masked ? 4 : 0), need));
      if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
      buf = buf.subarray(need);
      if (op === 8) { socket.end(Buffer.from([0x88, 0])); return; }
      if (op === 1 || op === 2) {
        const reply = op === 1 ? Buffer.from('echo: ' + payload.toString()) : payload;
        const head = reply.length < 126 ? Buffer.from([0x80 | op, reply.length])
          : Buffer.from([0x80 | op, 126, reply.length >> 8, reply.length & 0xff]);
        socket.write(Buffer.concat([head, reply]));
      }
    }
  });
  socket.on('error', () => {});
}
