// A small local site for `hark record`'s tests. Plain Node, no dependencies.
//
//   node server.mjs CERT.pem KEY.pem BADCERT.pem BADKEY.pem
//
// Starts on 127.0.0.1, free ports, and prints one JSON line {"http":…,"https":…,"badtls":…}:
//   http    HTTP/1.1: the page, gzip CSS/JSON, a binary image, a form login with redirects,
//           a WebSocket echo (/ws), and faults (/reset: headers and part of the body, then
//           the socket is destroyed; /stall: headers and part of the body, then silence;
//           /slow: a body sent over 2 s, for clients that go away).
//   https   the same routes over TLS with HTTP/2 and HTTP/1.1 (ALPN), certificate CERT.
//   badtls  HTTPS with BADCERT (signed by nobody the proxy trusts).

import http from 'node:http';
import http2 from 'node:http2';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import fs from 'node:fs';
import { wsUpgrade } from '../ws-echo.mjs';

export const IMAGE = (() => {
  // A real 16x16 PNG would do as well; what matters is binary bytes with every value.
  const b = Buffer.alloc(4096);
  for (let i = 0; i < b.length; i++) b[i] = (i * 7 + (i >> 8)) & 0xff;
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b);
  return b;
})();
export const DATA = { items: Array.from({ length: 50 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ['a', 'b'] })) };
export const CSS = 'body { font-family: sans-serif; color: #333; }\n'.repeat(40);
const USER = 'jane', PASS = 'hunter2';

const page = (wsUrl, imgUrl) => `<!doctype html>
<html><head><title>record site</title><link rel="stylesheet" href="/style.css"></head>
<body><h1>record site</h1><img id="img" src="${imgUrl}" alt="img">
<p id="data">…</p><p id="ws">…</p>
<script>
fetch('/data.json').then(r => r.json()).then(d => { document.getElementById('data').textContent = 'items ' + d.items.length; });
const ws = new WebSocket(${JSON.stringify(wsUrl)});
ws.onopen = () => { ws.send('hello from the page'); };
ws.onmessage = (m) => { document.getElementById('ws').textContent = 'echo: ' + m.data; ws.close(); };
</script></body></html>`;

function cookies(req) {
  const out = {};
  for (const part of (req.headers.cookie || '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k) out[k] = v.join('=');
  }
  return out;
}

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

function handler(ports) {
  return async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const send = (status, type, body, extra = {}) => {
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...extra });
      res.end(body);
    };
    switch (url.pathname) {
      case '/':
        return send(200, 'text/html; charset=utf-8',
          page(`ws://127.0.0.1:${ports.http}/ws`, `https://127.0.0.1:${ports.https}/img.png`));
      case '/style.css': {
        const gz = zlib.gzipSync(CSS);
        return send(200, 'text/css', gz, { 'Content-Encoding': 'gzip' });
      }
      case '/data.json': {
        const gz = zlib.gzipSync(JSON.stringify(DATA));
        return send(200, 'application/json', gz, { 'Content-Encoding': 'gzip', 'Access-Control-Allow-Origin': '*' });
      }
      case '/img.png':
        return send(200, 'image/png', IMAGE, { 'Access-Control-Allow-Origin': '*' });
      case '/echo': {
        const body = await readBody(req);
        return send(200, 'application/octet-stream', body);
      }
      case '/login':
        if (req.method === 'POST') {
          const form = new URLSearchParams((await readBody(req)).toString());
          if (form.get('user') === USER && form.get('password') === PASS) {
            res.writeHead(302, { Location: '/welcome', 'Set-Cookie': 'sid=s3ss10n; Path=/; HttpOnly; SameSite=Lax', 'Content-Length': 0 });
            return res.end();
          }
          res.writeHead(303, { Location: '/login?failed=1', 'Content-Length': 0 });
          return res.end();
        }
        return send(200, 'text/html; charset=utf-8',
          '<!doctype html><title>login</title><form method="post" action="/login">' +
          '<input name="user" id="user"><input name="password" id="password" type="password">' +
          '<button id="go" type="submit">Log in</button></form>');
      case '/welcome':
        if (cookies(req).sid === 's3ss10n') return send(200, 'text/html; charset=utf-8', '<!doctype html><title>welcome</title><h1 id="hi">Welcome jane</h1>');
        res.writeHead(302, { Location: '/login', 'Content-Length': 0 });
        return res.end();
      case '/reset':
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 100000 });
        res.write('x'.repeat(1000));
        setTimeout(() => (req.socket || req.stream.session.socket).destroy(), 50);
        return;
      case '/stall':
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 100000 });
        res.write('y'.repeat(1000));
        return; // never ends; the proxy's --upstream-timeout must
      case '/slow': {
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 20 * 1000 });
        let n = 0;
        const t = setInterval(() => {
          if (res.destroyed || n === 20) { clearInterval(t); if (!res.destroyed) res.end(); return; }
          res.write('z'.repeat(1000)); n++;
        }, 100);
        return;
      }
      case '/hello':
        return send(200, 'text/plain', `hello ${url.searchParams.get('i') || ''}`);
      default:
        return send(404, 'text/plain', 'not found');
    }
  };
}

// WebSocket echo, by hand (RFC 6455): enough for text and binary messages.
const listen = (server) => new Promise((r) => server.listen(0, '127.0.0.1', () => r(server.address().port)));

const [cert, key, badCert, badKey] = process.argv.slice(2).map((f) => fs.readFileSync(f));
const ports = {};
const plain = http.createServer(handler(ports));
plain.on('upgrade', wsUpgrade);
plain.keepAliveTimeout = 60000;
const secure = http2.createSecureServer({ cert, key, allowHTTP1: true }, handler(ports));
const bad = http2.createSecureServer({ cert: badCert, key: badKey, allowHTTP1: true }, handler(ports));
for (const s of [plain, secure, bad]) s.on('clientError', () => {});
ports.http = await listen(plain);
ports.https = await listen(secure);
ports.badtls = await listen(bad);
process.stdout.write(JSON.stringify(ports) + '\n');
