// Records the truth table's own Chromium HARs (testdata/truth/har/), each a case where a
// HAR tool is easily wrong, against small servers on 127.0.0.1 (nothing leaves the machine):
//
// - lost-login.chromium.har: the sign-in (login, authorize, callback redirect) runs in a
//   browser context the recorder does not see; the recorded tab opens on the callback page
//   and its script redeems the code (POST /token, grant_type=authorization_code), then calls
//   the API. check must say log-not-preserved; diagnose must call the flow incomplete.
// - cached-age.chromium.har: the page's API answers come through a caching layer (a real
//   reverse proxy in this script) that has held them for 20 minutes: Date 20 min old, Age
//   1200, X-Cache: HIT. No clock skew.
// - websocket.chromium.har: the page opens a WebSocket to another origin (another port),
//   whose handshake (101) carries no Access-Control-Allow-Origin. No CORS finding.
//
//   cd testdata && npm ci && node record-truth.mjs
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, LOOPBACK_ONLY } from './chromium.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, 'truth/har');
fs.mkdirSync(out, { recursive: true });

function listen(handler) {
  return new Promise((resolve) => {
    const s = http.createServer(handler);
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}
const portOf = (s) => s.address().port;
const html = (res, body) => {
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`<!doctype html><html><head><title>truth</title></head><body>${body}</body></html>`);
};
const json = (res, status, obj, extra = {}) => {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...extra });
  res.end(JSON.stringify(obj));
};
const readBody = (req) => new Promise((r) => { let b = ''; req.on('data', (c) => (b += c)); req.on('end', () => r(b)); });

// The IdP + app of the lost login: codes minted by /authorize, redeemed once by /token.
const codes = new Map();
const app = await listen(async (req, res) => {
  const u = new URL(req.url, 'http://x');
  if (u.pathname === '/login') {
    return html(res, `<form method="post" action="/login"><input name="username" value="ada"><input name="password" type="password" value="pw-not-real"><button>go</button></form>`);
  }
  if (u.pathname === '/login/submit') { // (the form's answer; the unseen context starts here)
    res.writeHead(302, { Location: `/authorize?response_type=code&client_id=truth-web&redirect_uri=${encodeURIComponent(`http://127.0.0.1:${portOf(app)}/callback`)}&state=st-${crypto.randomBytes(8).toString('hex')}` });
    return res.end();
  }
  if (u.pathname === '/authorize') {
    const code = 'ac_' + crypto.randomBytes(12).toString('hex');
    codes.set(code, true);
    res.writeHead(302, { Location: `${u.searchParams.get('redirect_uri')}?code=${code}&state=${u.searchParams.get('state')}` });
    return res.end();
  }
  if (u.pathname === '/callback') {
    return html(res, `<p>signing in…</p><script>
      const q = new URLSearchParams(location.search);
      fetch('/token', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: q.get('code'), client_id: 'truth-web',
          redirect_uri: location.origin + '/callback' }) })
        .then((r) => r.json())
        .then((t) => fetch('/api/me', { headers: { Authorization: 'Bearer ' + t.access_token } }))
        .then((r) => r.json()).then((me) => { document.title = 'done ' + me.name; });
    </script>`);
  }
  if (u.pathname === '/token' && req.method === 'POST') {
    const form = new URLSearchParams(await readBody(req));
    if (!codes.delete(form.get('code'))) return json(res, 400, { error: 'invalid_grant' });
    return json(res, 200, { access_token: 'at_' + crypto.randomBytes(12).toString('hex'), token_type: 'Bearer', expires_in: 3600 });
  }
  if (u.pathname === '/api/me') {
    if (!(req.headers.authorization || '').startsWith('Bearer at_')) return json(res, 401, { error: 'no token' });
    return json(res, 200, { name: 'Ada' });
  }
  res.writeHead(404); res.end();
});

// The origin behind the caching layer, and the layer: a reverse proxy that keeps each
// answer with the time it stored it, and was warmed 20 minutes ago (as a CDN edge is).
const origin = await listen((req, res) => json(res, 200, { path: req.url, at: new Date().toISOString() },
  { 'Cache-Control': 'public, max-age=3600' }));
const stored = new Map();
const warmedAt = Date.now() - 20 * 60 * 1000;
const fetchOrigin = (p) => new Promise((resolve) => {
  http.get({ host: '127.0.0.1', port: portOf(origin), path: p }, (r) => {
    let b = ''; r.on('data', (c) => (b += c)); r.on('end', () => resolve(b));
  });
});
for (const p of ['/api/prices', '/api/catalog']) stored.set(p, { body: await fetchOrigin(p), at: warmedAt });
const cache = await listen(async (req, res) => {
  if (req.url === '/') {
    return html(res, `<p>shop</p><script>
      Promise.all([fetch('/api/prices'), fetch('/api/catalog')]).then(() => { document.title = 'loaded'; });
    </script>`);
  }
  let hit = stored.get(req.url);
  const status = hit ? 'HIT' : 'MISS';
  if (!hit) { hit = { body: await fetchOrigin(req.url), at: Date.now() }; stored.set(req.url, hit); }
  res.writeHead(200, {
    'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=3600',
    Date: new Date(hit.at).toUTCString(), Age: String(Math.floor((Date.now() - hit.at) / 1000)),
    'X-Cache': status, Via: '1.1 truth-cache',
  });
  res.end(hit.body);
});

// A WebSocket server on its own port (another origin than the page's): the handshake
// answer has no CORS headers; it echoes one text frame.
const page = await listen((req, res) => html(res, '<p>chat</p>'));
const ws = await listen((req, res) => { res.writeHead(426); res.end(); });
ws.on('upgrade', (req, socket) => {
  const accept = crypto.createHash('sha1')
    .update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
    + `Sec-WebSocket-Accept: ${accept}\r\n\r\n`);
  socket.on('data', (buf) => {
    // One small masked client text frame in, the same text out (unmasked).
    const len = buf[1] & 0x7f;
    const mask = buf.subarray(2, 6);
    const data = Buffer.from(buf.subarray(6, 6 + len).map((b, i) => b ^ mask[i % 4]));
    socket.write(Buffer.concat([Buffer.from([0x81, data.length]), data]));
  });
  socket.on('error', () => {});
});

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, LOOPBACK_ONLY] });
async function record(name, run) {
  const file = path.join(out, name);
  const context = await browser.newContext({ recordHar: { path: file, content: 'embed', mode: 'full' } });
  await run(context);
  await context.close();
  console.log(`${file}: ${JSON.parse(fs.readFileSync(file, 'utf8')).log.entries.length} entries`);
}

// The sign-in in a context nobody records (scripts off there, so its callback page
// does not redeem the code); the recorded tab starts on the callback URL it reached.
const unseen = await browser.newContext({ javaScriptEnabled: false });
const signIn = await unseen.newPage();
const appUrl = `http://127.0.0.1:${portOf(app)}`;
await signIn.goto(`${appUrl}/login/submit`);
const callbackUrl = signIn.url();
await unseen.close();
if (!callbackUrl.includes('/callback?code=')) throw new Error('the unseen sign-in ended at ' + callbackUrl);
await record('lost-login.chromium.har', async (context) => {
  const p = await context.newPage();
  await p.goto(callbackUrl);
  await p.waitForFunction(() => document.title.startsWith('done'));
});

await record('cached-age.chromium.har', async (context) => {
  const p = await context.newPage();
  await p.goto(`http://127.0.0.1:${portOf(cache)}/`);
  await p.waitForFunction(() => document.title === 'loaded');
});

await record('websocket.chromium.har', async (context) => {
  const p = await context.newPage();
  await p.goto(`http://127.0.0.1:${portOf(page)}/`);
  const echoed = await p.evaluate((port) => new Promise((resolve, reject) => {
    const s = new WebSocket(`ws://127.0.0.1:${port}/chat`);
    s.onopen = () => s.send('hello');
    s.onmessage = (m) => { s.close(); resolve(m.data); };
    s.onerror = reject;
  }), portOf(ws));
  if (echoed !== 'hello') throw new Error('websocket echo: ' + echoed);
  await p.waitForTimeout(200);
});

await browser.close();
for (const s of [app, origin, cache, page, ws]) s.close();
process.exit(0);
