// A hostile upstream for hark's hardening tests. Plain Node, no dependencies; loopback only.
//
//   node upstream.mjs    starts on 127.0.0.1 (a free port) and prints {"port": N}
//
//   /gzip   256 MiB of zeros as a gzip body of about 256 KiB (Content-Encoding: gzip)
//   /br     256 MiB of zeros as a brotli body of a few hundred bytes (Content-Encoding: br)
//   /ok     a short text body
//   /host   JSON: the Host header the request arrived with
import http from 'node:http';
import zlib from 'node:zlib';

const INFLATED = 256 << 20;
// Compressed once, streamed from 1 MiB pieces so that this server stays small too.
const compress = (make) => {
  const zeros = Buffer.alloc(1 << 20);
  const z = make();
  const parts = [];
  z.on('data', (d) => parts.push(d));
  const done = new Promise((r) => z.on('end', () => r(Buffer.concat(parts))));
  for (let i = 0; i < INFLATED >> 20; i++) z.write(zeros);
  z.end();
  return done;
};
const GZIP = await compress(() => zlib.createGzip({ level: 9 }));
const BR = await compress(() => zlib.createBrotliCompress({
  params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: INFLATED },
}));

const server = http.createServer((req, res) => {
  const send = (status, headers, body) => {
    res.writeHead(status, { 'Content-Length': body.length, ...headers });
    res.end(body);
  };
  const path = new URL(req.url, 'http://x').pathname;
  if (path === '/gzip') return send(200, { 'Content-Type': 'text/plain', 'Content-Encoding': 'gzip' }, GZIP);
  if (path === '/br') return send(200, { 'Content-Type': 'text/plain', 'Content-Encoding': 'br' }, BR);
  if (path === '/host') return send(200, { 'Content-Type': 'application/json' }, Buffer.from(JSON.stringify({ host: req.headers.host ?? null })));
  if (path === '/ok') return send(200, { 'Content-Type': 'text/plain' }, Buffer.from('ok\n'));
  send(404, { 'Content-Type': 'text/plain' }, Buffer.from('not found\n'));
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port, gzip: GZIP.length, br: BR.length })));
