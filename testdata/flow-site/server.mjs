// A small API site for `hark diff` / `hark mock` / `hark replay` tests: a page whose script
// logs in (JSON POST, session cookie), then calls the API (a profile with timestamps, ids
// and tokens that change on every run; a list fetched twice with a cache-buster; an order
// POST). `node flow-site/server.mjs PORT`; VARIANT=1 changes one JSON field
// (`/api/me` plan: "pro") and one status (`/api/health`: 503); VARIANT=2 changes one
// response only (`/api/me`: plan "pro" and `Cache-Control: private, max-age=60`).
import http from 'node:http';
import crypto from 'node:crypto';

const VARIANT = process.env.VARIANT === '1';
const ONE_CHANGE = process.env.VARIANT === '2';
const calls = new Map(); // per session: the n-th /api/items call

const PAGE = `<!doctype html><html><head><title>flow</title></head><body><h1>flow</h1>
<pre id="out"></pre>
<script>
(async () => {
  const log = [];
  async function call(method, url, body) {
    const r = await fetch(url, { method, headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined });
    const text = await r.text();
    log.push({ method, url: url.replace(/cb=\\d+/, 'cb=*'), status: r.status, body: text });
  }
  await call('POST', '/api/login', { user: 'ann', password: 'pw-123', at: new Date().toISOString() });
  await call('GET', '/api/me');
  await call('GET', '/api/health');
  await call('GET', '/api/items?page=1&cb=' + Date.now());
  await call('GET', '/api/items?page=1&cb=' + (Date.now() + 1));
  await call('POST', '/api/orders', { item: 'book', qty: 2, requestedAt: new Date().toISOString() });
  document.getElementById('out').textContent = JSON.stringify(log);
  window.flowDone = log;
})();
</script></body></html>`;

function json(res, status, value, extra = {}) {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'x-request-id': crypto.randomUUID(),
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(body);
}

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

export function startFlowSite(port = 0) {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const body = await readBody(req);
    const cookie = req.headers.cookie || '';
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      return res.end(PAGE);
    }
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204);
      return res.end();
    }
    if (url.pathname === '/api/login' && req.method === 'POST') {
      const b = JSON.parse(body || '{}');
      if (b.user !== 'ann') return json(res, 401, { error: 'bad user' });
      return json(res, 200, { ok: true, session: crypto.randomBytes(16).toString('hex') },
        { 'set-cookie': `sid=${crypto.randomBytes(12).toString('hex')}; Path=/; HttpOnly; SameSite=Lax` });
    }
    if (!cookie.includes('sid=')) return json(res, 401, { error: 'login first' });
    if (url.pathname === '/api/me') {
      return json(res, 200, {
        id: crypto.randomUUID(), name: 'Ann', plan: VARIANT || ONE_CHANGE ? 'pro' : 'free',
        lastLogin: new Date().toISOString(), token: crypto.randomBytes(20).toString('base64url'),
        roles: ['reader', 'writer'],
      }, ONE_CHANGE ? { 'cache-control': 'private, max-age=60' } : {});
    }
    if (url.pathname === '/api/health') {
      return json(res, VARIANT ? 503 : 200, { status: 'ok' });
    }
    if (url.pathname === '/api/items') {
      const sid = /sid=([0-9a-f]+)/.exec(cookie)[1];
      calls.set(sid, (calls.get(sid) || 0) + 1);
      return json(res, 200, { page: Number(url.searchParams.get('page')), call: calls.get(sid),
        items: [{ id: 1, name: 'book' }, { id: 2, name: 'pen' }], servedAt: Date.now() });
    }
    if (url.pathname === '/api/orders' && req.method === 'POST') {
      const b = JSON.parse(body || '{}');
      return json(res, 201, { orderId: crypto.randomUUID(), item: b.item, qty: b.qty });
    }
    json(res, 404, { error: 'not found' });
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startFlowSite(Number(process.argv[2] || process.env.PORT || 0));
  console.log(`flow-site listening on http://127.0.0.1:${server.address().port}`);
}
