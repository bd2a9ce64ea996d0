// A small local site for `hark serve`'s tests and benchmark. Plain Node, no dependencies.
//
//   node site.mjs [CERT.pem KEY.pem]
//                        starts on 127.0.0.1 (free ports) and prints {"port": N}, plus
//                        "https": M (HTTP/2 and HTTP/1.1 over TLS) when given a certificate
//
//   /          HTML page: CSS, a fetch of JSON, a binary image, and /blocked.png (which a
//              test blacklists: it must never get here)
//   /second    a second page (a fetch of /data.json?page=2)
//   /echo      JSON of the request's headers
//   /n/ANY     a short text body (for curl and wrk)
//   /big?kib=N N KiB of text (bandwidth limits)
//   /upload    reads the request body and answers {"bytes": its length}
//   /hits      JSON: how many requests each path got
import http from 'node:http';
import http2 from 'node:http2';
import fs from 'node:fs';

const IMAGE = (() => {
  const b = Buffer.alloc(2048);
  for (let i = 0; i < b.length; i++) b[i] = (i * 7 + (i >> 8)) & 0xff;
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b);
  return b;
})();
const CSS = 'body { font-family: sans-serif; color: #333; }\n'.repeat(20);
const hits = {};

const page = (title, fetchUrl) => `<!doctype html>
<html><head><title>${title}</title><link rel="stylesheet" href="/style.css"></head>
<body><h1>${title}</h1><img id="img" src="/img.png" alt="img"><img src="/blocked.png" alt="">
<p id="data">…</p>
<script>
fetch(${JSON.stringify(fetchUrl)}).then(r => r.json()).then(d => { document.getElementById('data').textContent = 'items ' + d.items.length; });
</script></body></html>`;

const handler = (req, res) => {
  const url = new URL(req.url, 'http://x');
  hits[url.pathname] = (hits[url.pathname] || 0) + 1;
  const send = (status, type, body, extra = {}) => {
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...extra });
    res.end(body);
  };
  if (url.pathname === '/') return send(200, 'text/html; charset=utf-8', page('serve site', '/data.json'));
  if (url.pathname === '/second') return send(200, 'text/html; charset=utf-8', page('second page', '/data.json?page=2'));
  if (url.pathname === '/style.css') return send(200, 'text/css', CSS);
  if (url.pathname === '/data.json') {
    return send(200, 'application/json', JSON.stringify({ items: Array.from({ length: 20 }, (_, i) => ({ id: i })) }));
  }
  if (url.pathname === '/img.png') return send(200, 'image/png', IMAGE);
  if (url.pathname === '/echo') return send(200, 'application/json', JSON.stringify(req.headers));
  if (url.pathname === '/hits') return send(200, 'application/json', JSON.stringify(hits));
  if (url.pathname.startsWith('/n/')) return send(200, 'text/plain', `hello ${url.pathname}\n`);
  if (url.pathname === '/favicon.ico') return send(204, 'text/plain', '');
  if (url.pathname === '/big') {
    const kib = Math.min(Number(url.searchParams.get('kib')) || 1, 65536);
    return send(200, 'text/plain', 'abcdefghijklmnopqrstuvwxyz01234\n'.repeat(kib * 32));
  }
  if (url.pathname === '/upload') {
    let n = 0;
    req.on('data', (c) => { n += c.length; });
    req.on('end', () => send(200, 'application/json', JSON.stringify({ bytes: n })));
    return;
  }
  send(404, 'text/plain', 'not found\n');
};
const server = http.createServer(handler);
server.keepAliveTimeout = 30000;
const listen = (srv) => new Promise((r) => srv.listen(0, '127.0.0.1', () => r(srv.address().port)));
const ports = { port: await listen(server) };
const [certFile, keyFile] = process.argv.slice(2);
if (certFile) {
  const secure = http2.createSecureServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile), allowHTTP1: true }, handler);
  ports.https = await listen(secure);
}
console.log(JSON.stringify(ports));
