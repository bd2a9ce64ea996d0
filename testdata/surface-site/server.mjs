// A small shop API for `hark surface`: 30 endpoints with nested ids, UUIDs, `me`-style
// static segments, query, form, JSON and multipart parameters, cookie and bearer auth.
// The true endpoint list is TRUTH below (and in crates/cli/tests/surface.rs).
import http from 'node:http';
import crypto from 'node:crypto';

export const TRUTH = [
  'GET /', 'GET /login', 'POST /login', 'POST /logout', 'GET /shop', 'GET /account',
  'POST /api/auth/token',
  'GET /api/users', 'POST /api/users', 'GET /api/users/me', 'PATCH /api/users/me',
  'GET /api/users/{}', 'PUT /api/users/{}', 'DELETE /api/users/{}',
  'GET /api/users/{}/orders', 'POST /api/users/{}/orders', 'GET /api/users/{}/orders/{}',
  'GET /api/users/{}/orders/{}/items', 'DELETE /api/users/{}/orders/{}/items/{}',
  'GET /api/products', 'GET /api/products/featured', 'GET /api/products/{}',
  'GET /api/products/{}/reviews', 'POST /api/products/{}/reviews',
  'GET /api/search', 'POST /api/uploads', 'GET /api/files/{}',
  'GET /api/reports/{}', 'GET /api/settings', 'PUT /api/settings',
  'POST /api/contact', 'GET /api/tokens/{}',
];

const SESSION = 'sess-' + crypto.randomBytes(8).toString('hex');
const TOKEN = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.' +
  Buffer.from(JSON.stringify({ sub: '42', name: 'Ann' })).toString('base64url') + '.c2lnbmF0dXJl';

const PAGE = (title, body) => `<!doctype html><html><head><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function route(method, path) {
  const segs = path.split('/').filter(Boolean);
  for (const t of TRUTH) {
    const [m, p] = t.split(' ');
    if (m !== method) continue;
    const ts = p.split('/').filter(Boolean);
    if (ts.length !== segs.length) continue;
    const params = [];
    let ok = true;
    for (let i = 0; i < ts.length; i++) {
      if (ts[i] === '{}') {
        if (['me', 'featured'].includes(segs[i])) { ok = false; break; }
        params.push(segs[i]);
      } else if (ts[i] !== segs[i]) { ok = false; break; }
    }
    if (ok) return { t, params };
  }
  return null;
}

export function startServer(port = 0) {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const body = await readBody(req);
    const r = route(req.method, url.pathname);
    if (!r) { res.writeHead(404, { 'content-type': 'application/json' }); res.end('{"error":"not found"}'); return; }
    const cookie = req.headers.cookie || '';
    const authed = cookie.includes(`session=${SESSION}`) || req.headers.authorization === `Bearer ${TOKEN}`;
    const json = (code, v, extra = {}) => { res.writeHead(code, { 'content-type': 'application/json', ...extra }); res.end(JSON.stringify(v)); };
    const html = (code, title, b, extra = {}) => { res.writeHead(code, { 'content-type': 'text/html; charset=utf-8', ...extra }); res.end(PAGE(title, b)); };
    switch (r.t) {
      case 'GET /': return html(200, 'Shop', '<a href="/login">Log in</a>');
      case 'GET /login': return html(200, 'Log in', '<form method="post" action="/login"><input name="email"><input name="password" type="password"><button>Go</button></form>');
      case 'POST /login': return html(302, 'Moved', '', { location: '/shop', 'set-cookie': `session=${SESSION}; Path=/; HttpOnly; SameSite=Lax` });
      case 'POST /logout': return html(302, 'Moved', '', { location: '/', 'set-cookie': 'session=; Path=/; Max-Age=0' });
      case 'GET /shop': case 'GET /account':
        if (!authed) return html(302, 'Moved', '', { location: '/login' });
        return html(200, r.t.slice(5), '<p>ok</p>');
      case 'POST /api/auth/token': return json(200, { access_token: TOKEN, token_type: 'Bearer', expires_in: 3600 });
    }
    if (r.t.startsWith('GET /api/products') || r.t === 'GET /api/search') {
      return json(200, { id: Number(r.params[0] || 1), name: 'Tea', price: 4.5, tags: ['hot'], q: url.searchParams.get('q') });
    }
    if (!authed) return json(401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer' });
    if (r.t === 'GET /api/files/{}') { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('file ' + r.params[0]); return; }
    if (r.t.startsWith('DELETE')) { res.writeHead(204); res.end(); return; }
    return json(r.t.startsWith('POST') ? 201 : 200, {
      id: Number.isFinite(Number(r.params[0])) ? Number(r.params[0]) : 7,
      name: 'Ann', email: 'ann@shop.test', created: '2024-01-15T10:00:00Z',
      items: [{ sku: 'tea-1', qty: 2 }], received: body.length,
    });
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const s = await startServer(Number(process.env.PORT || 8089));
  console.log(`http://127.0.0.1:${s.address().port}/`);
}
