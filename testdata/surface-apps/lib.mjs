// The small HTTP server the surface test apps share: a route table of TRUTH-style
// templates ('GET /api/v2/teams/{}'), literal segments preferred over parameters, JSON
// answers whose shape belongs to the resource (so siblings differ, values do not), HTML
// pages, cookie or bearer auth. Loopback only.
import http from 'node:http';

export const PAGE = (title, body) =>
  `<!doctype html><html><head><title>${title}</title><link rel="stylesheet" href="/assets/style.8e7d6c5b.css"><script src="/assets/app.3f9a2c1b.js" defer></script></head><body><h1>${title}</h1>${body}</body></html>`;

export function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/** The route of `method path` among `templates`: the most literal match wins. */
export function route(templates, method, path) {
  const segs = path.split('/').filter(Boolean).map(decodeURIComponent);
  let best = null;
  for (const t of templates) {
    const [m, p] = t.split(' ');
    if (m !== method) continue;
    const ts = p.split('/').filter(Boolean);
    if (ts.length !== segs.length) continue;
    const params = [];
    const lit = [];
    let ok = true;
    for (let i = 0; i < ts.length; i++) {
      if (ts[i] === '{}') { params.push(segs[i]); lit.push(0); }
      else if (ts[i] === segs[i]) lit.push(1);
      else { ok = false; break; }
    }
    if (ok && (!best || lit.join('') > best.lit.join(''))) best = { t, params, lit };
  }
  return best;
}

/** A JSON answer shaped by its resource: the last literal segment names the fields. */
export function resourceBody(t, params) {
  const [m, p] = t.split(' ');
  const lits = p.split('/').filter((s) => s && s !== '{}');
  const res = (lits[lits.length - 1] || 'root').replace(/-/g, '_');
  const one = { id: params[params.length - 1] ?? 1, [`${res}_name`]: 'x', updated: '2024-05-01T10:00:00Z' };
  if (p.endsWith('{}') || m !== 'GET') return { [res]: one };
  return { data: [one, { ...one, id: 2 }], next: null, [`${res}_total`]: 2 };
}

/**
 * Serve `templates` on 127.0.0.1:`port`; `handle(ctx)` may answer a route itself (return
 * true), else JSON by resourceBody (401 without auth when `authed(ctx)` is false).
 */
export function serve(templates, handle, port = 0) {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const body = await readBody(req);
    if (url.pathname.startsWith('/assets/')) {
      const type = url.pathname.endsWith('.css') ? 'text/css' : url.pathname.endsWith('.svg') ? 'image/svg+xml' : 'application/javascript';
      res.writeHead(200, { 'content-type': type, 'cache-control': 'public, max-age=31536000, immutable' });
      res.end(type === 'image/svg+xml' ? '<svg xmlns="http://www.w3.org/2000/svg"/>' : '/* asset */');
      return;
    }
    const r = route(templates, req.method, url.pathname);
    const json = (code, v, extra = {}) => { res.writeHead(code, { 'content-type': 'application/json', ...extra }); res.end(JSON.stringify(v)); };
    const html = (code, title, b, extra = {}) => { res.writeHead(code, { 'content-type': 'text/html; charset=utf-8', ...extra }); res.end(PAGE(title, b)); };
    if (!r) return json(404, { error: 'not found' });
    const ctx = { req, res, url, body, r, json, html };
    if (await handle(ctx)) return;
    if (r.t.startsWith('DELETE')) { res.writeHead(204); res.end(); return; }
    return json(r.t.startsWith('POST') ? 201 : 200, resourceBody(r.t, r.params));
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}
