// "Acme Projects" — a small fake SaaS used to record real browser HAR fixtures for hark.
//
// Plain Node (>= 20), no dependencies. Two HTTP servers on 127.0.0.1:
//   * the app itself (pages, static assets, an OAuth 2.0 / OIDC-style authorization server with
//     PKCE, a JSON API, a Basic-auth /admin and a set of failure scenarios);
//   * a "partner API" on a second port that sends no CORS headers (for the CORS failure).
//
//   node site/server.mjs [port] [partnerPort]     (or PORT / PARTNER_PORT; default 0 = random)
//
// Every secret-looking value is FAKE. Values that go over the wire are registered with plant();
// record.mjs collects them (static ones and the per-run ones: sid, csrf, code, tokens...) into
// site/secrets.json so sanitizer tests can check that none survive.

import http from 'node:http';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import fs from 'node:fs';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { wsUpgrade } from '../ws-echo.mjs';

// ---------------------------------------------------------------------------------------------
// Static fake secrets (fixed across recordings). Shapes follow the real vendors' formats.
// ---------------------------------------------------------------------------------------------
export const USER = {
  username: 'jane.doe',
  password: 'Tr0ub4dor-and-3-horses',
  email: 'jane.doe@example.com',
  name: 'Jane Doe',
  sub: 'usr_8f3a2c71d94b4e0f',
};
export const OAUTH_CLIENT = {
  client_id: 'acme-web-7d1c2f',
  client_secret: 'acme_cs_live_Q2x8dLk39ZpWm4Rt7Vb1Nc6Hy0Jf5Sg',
};
export const STATIC_SECRETS = {
  user_password: USER.password,
  client_secret: OAUTH_CLIENT.client_secret,
  api_key: 'ak_live_7Hq2Xw9Lm4Np8Rs1Tv5Yz3Bc6Df0Gj2K',
  card_number: '4111111111111111',
  card_cvc: '123',
  nested_password: 'n3sted-Pa55w0rd-9xQ',
  github_token: 'ghp_R7d3Kx9Lq2Wm8Zt4Vn6Yb1Pc5Hs0Jf3Ga7Ue',
  aws_access_key_id: 'AKIAQX7Z3N5B2KLM4P8R',
  aws_secret_access_key: 'w9Jx+3kLq7/Zp2Rt8Vb5Nc1Hy6Df0Sg4Ke7Ma2T',
  slack_bot_token: 'xoxb-482619375018-5093742618450-Gk7Rt2Lq9Zx4Wm8Vb3Nc6Hy1',
  stripe_secret_key: 'sk_live_51Nq8ZxK3LmR7Tv2Wb9Yc4Dh6Fj0Gs5Pa8Ue1Ri3Ko7Mn2Xq4Zt',
  admin_username: 'ops-admin',
  admin_password: 'adm1n-S3cret-Pw-77',
  partner_api_token: 'pt_live_Zm4Qx8Rn2Lk7Wv5Tb9Hc3Yd6Jf1',
};
const JWT_SIGNING_KEY = 'acme-demo-hs256-signing-key-not-a-real-secret'; // server-side only
const SERVER_HEADER = 'acme-edge/1.4.2 (node)';

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------
const b64url = (buf) => Buffer.from(buf).toString('base64url');
const rand = (n) => crypto.randomBytes(n).toString('base64url');
const alnum = (n) => {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = crypto.randomBytes(n);
  return Array.from(bytes, (b) => A[b % A.length]).join('');
};

export function signJwt(claims, key = JWT_SIGNING_KEY) {
  const header = { alg: 'HS256', typ: 'JWT', kid: 'acme-2024-01' };
  const h = b64url(JSON.stringify(header));
  const p = b64url(JSON.stringify(claims));
  const s = crypto.createHmac('sha256', key).update(`${h}.${p}`).digest('base64url');
  return `${h}.${p}.${s}`;
}

export function verifyJwt(token, key = JWT_SIGNING_KEY) {
  const parts = String(token || '').split('.');
  if (parts.length !== 3) return { ok: false, error: 'malformed' };
  const want = crypto.createHmac('sha256', key).update(`${parts[0]}.${parts[1]}`).digest('base64url');
  if (want !== parts[2]) return { ok: false, error: 'bad_signature' };
  let claims;
  try { claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')); } catch { return { ok: false, error: 'malformed' }; }
  if (typeof claims.exp === 'number' && claims.exp * 1000 < Date.now()) return { ok: false, error: 'expired', claims };
  return { ok: true, claims };
}

// A JWT that expired on 2023-11-14 (deterministic: fixed claims, fixed key).
export const EXPIRED_ACCESS_TOKEN = signJwt({
  iss: 'http://127.0.0.1/oauth', aud: 'acme-api', sub: USER.sub, email: USER.email,
  scope: 'openid email', iat: 1699945200, exp: 1699948800, jti: 'jti_expired_0001',
});

// --- a tiny valid PNG (16x16 RGBA) and a favicon.ico that wraps it ---------------------------
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function pngChunk(type, data) {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
export function makePng(size = 16) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0); ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; ihdr[9] = 6; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0; // 8-bit RGBA
  const rows = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 4); // filter byte 0
    for (let x = 0; x < size; x++) {
      const inside = (x - 7.5) ** 2 + (y - 7.5) ** 2 < 7.5 ** 2;
      row[1 + x * 4] = 40 + x * 10; row[2 + x * 4] = 90 + y * 8; row[3 + x * 4] = 220;
      row[4 + x * 4] = inside ? 255 : 0;
    }
    rows.push(row);
  }
  const idat = zlib.deflateSync(Buffer.concat(rows), { level: 9 });
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0)),
  ]);
}
function makeIco(png, size = 16) {
  const hdr = Buffer.alloc(6); hdr.writeUInt16LE(0, 0); hdr.writeUInt16LE(1, 2); hdr.writeUInt16LE(1, 4);
  const ent = Buffer.alloc(16);
  ent[0] = size; ent[1] = size; ent[2] = 0; ent[3] = 0;
  ent.writeUInt16LE(1, 4); ent.writeUInt16LE(32, 6);
  ent.writeUInt32LE(png.length, 8); ent.writeUInt32LE(22, 12);
  return Buffer.concat([hdr, ent, png]);
}
const LOGO_PNG = makePng(16);
// Icon web font, drawn by site/make-icon-font.py (committed; Node needs no font tooling).
const ICON_FONT = fs.readFileSync(fileURLToPath(new URL('./static/acme-icons.woff2', import.meta.url)));
const FAVICON_ICO = makeIco(LOGO_PNG);

// ---------------------------------------------------------------------------------------------
// Static text assets
// ---------------------------------------------------------------------------------------------
const APP_CSS = `@font-face{font-family:"Acme Icons";src:url(/static/fonts/acme-icons.woff2) format("woff2");font-display:block}
.i{font-family:"Acme Icons";font-style:normal;margin-right:.3em;vertical-align:-.1em}
:root{--bg:#0f172a;--fg:#e2e8f0;--accent:#38bdf8;--card:#1e293b}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;background:var(--bg);color:var(--fg)}
header{display:flex;align-items:center;gap:.6rem;padding:.8rem 1.5rem;border-bottom:1px solid #334155}
header img{width:16px;height:16px}header nav{margin-left:auto;display:flex;gap:1rem}
a{color:var(--accent)}main{max-width:46rem;margin:2rem auto;padding:0 1rem}
.card{background:var(--card);border-radius:10px;padding:1.2rem 1.4rem;margin:1rem 0}
label{display:block;margin:.6rem 0 .2rem}input{width:100%;padding:.5rem;border-radius:6px;border:1px solid #475569;background:#0b1220;color:var(--fg)}
button,.btn{display:inline-block;margin-top:1rem;padding:.55rem 1.1rem;border:0;border-radius:6px;background:var(--accent);color:#0f172a;font-weight:600;cursor:pointer;text-decoration:none}
.error{color:#f87171}.ok{color:#4ade80}pre{white-space:pre-wrap;word-break:break-all;font-size:12px}
table{width:100%;border-collapse:collapse}td,th{padding:.3rem;border-bottom:1px solid #334155;text-align:left}
`;

const APP_JS = `// Acme Projects — shared front-end helpers
(function () {
  var theme = (document.cookie.match(/(?:^|; )theme=([^;]+)/) || [])[1] || 'dark';
  document.documentElement.dataset.theme = theme;
  var el = document.getElementById('service-status');
  if (el) {
    fetch('/api/status', { headers: { Accept: 'application/json' } })
      .then(function (r) { return r.json(); })
      .then(function (s) { el.textContent = 'All systems ' + s.status + ' · v' + s.version; el.className = 'ok'; document.body.dataset.done = '1'; })
      .catch(function (e) { el.textContent = 'status unavailable: ' + e; el.className = 'error'; document.body.dataset.done = '1'; });
  }
})();
`;

const OAUTH_CONFIG_JS = () => `// OAuth client configuration (public SPA client... with a confidential secret shipped to the browser)
window.ACME_OAUTH = {
  authorizeEndpoint: '/oauth/authorize',
  tokenEndpoint: '/oauth/token',
  clientId: '${OAUTH_CLIENT.client_id}',
  clientSecret: '${OAUTH_CLIENT.client_secret}',
  scope: 'openid email'
};
`;

const LOGIN_JS = `// PKCE (S256), state and nonce are made in the browser before the form is posted.
(function () {
  function b64url(bytes) {
    var s = ''; bytes = new Uint8Array(bytes);
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  }
  function rnd(n) { return b64url(crypto.getRandomValues(new Uint8Array(n))); }
  var form = document.getElementById('login-form');
  form.addEventListener('submit', async function (ev) {
    ev.preventDefault();
    var verifier = rnd(32);
    var challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
    var state = rnd(16), nonce = rnd(16);
    sessionStorage.setItem('pkce_verifier', verifier);
    sessionStorage.setItem('oauth_state', state);
    form.elements.code_challenge.value = challenge;
    form.elements.state.value = state;
    form.elements.nonce.value = nonce;
    if (!form.elements.scope.value) form.elements.scope.value = window.ACME_OAUTH.scope;
    HTMLFormElement.prototype.submit.call(form);
  });
  document.body.dataset.ready = '1';
})();
`;

const CALLBACK_JS = `// OAuth redirect target: exchange the code, keep the tokens, go to the app.
(async function () {
  var cfg = window.ACME_OAUTH;
  var out = document.getElementById('status');
  var q = new URLSearchParams(location.search);
  function fail(msg) { out.textContent = msg; out.className = 'error'; document.body.dataset.done = '1'; }
  if (q.get('error')) return fail('Sign-in failed: ' + q.get('error') + ' — ' + (q.get('error_description') || ''));
  var expected = sessionStorage.getItem('oauth_state');
  if (expected && expected !== q.get('state')) return fail('state mismatch');
  var body = new URLSearchParams({
    grant_type: 'authorization_code',
    code: q.get('code'),
    code_verifier: sessionStorage.getItem('pkce_verifier') || '',
    client_id: cfg.clientId,
    client_secret: cfg.clientSecret,
    redirect_uri: location.origin + '/callback'
  });
  try {
    var r = await fetch(cfg.tokenEndpoint, { method: 'POST', body: body, headers: { Accept: 'application/json' } });
    var j = await r.json();
    if (!r.ok) return fail('Token request failed (' + r.status + '): ' + j.error + ' — ' + (j.error_description || ''));
    sessionStorage.setItem('access_token', j.access_token);
    sessionStorage.setItem('id_token', j.id_token);
    sessionStorage.setItem('refresh_token', j.refresh_token);
    out.textContent = 'Signed in, loading your workspace…'; out.className = 'ok';
    setTimeout(function () { location.replace('/app'); }, 600);
  } catch (e) { fail('Network error: ' + e); }
})();
`;

const DASHBOARD_JS = `// The signed-in app: profile, a project, its items; a payment on click.
(async function () {
  var token = sessionStorage.getItem('access_token');
  var out = document.getElementById('status');
  var auth = { Authorization: 'Bearer ' + token, Accept: 'application/json' };
  var me = await (await fetch('/api/me', { headers: auth })).json();
  document.getElementById('who').textContent = me.name + ' <' + me.email + '>';
  var h = Object.assign({}, auth, { 'X-Api-Key': me.api_key });
  var project = await (await fetch('/api/projects/123', { headers: h })).json();
  document.getElementById('project').textContent = project.name + ' (' + project.plan + ')';
  var items = await (await fetch('/api/projects/123/items?page=2&api_key=' + encodeURIComponent(me.api_key), { headers: h })).json();
  var tb = document.getElementById('items');
  items.items.slice(0, 8).forEach(function (it) {
    var tr = document.createElement('tr');
    tr.innerHTML = '<td>' + it.id + '</td><td>' + it.title + '</td><td>' + it.status + '</td>';
    tb.appendChild(tr);
  });
  out.textContent = 'Loaded ' + items.items.length + ' items (page ' + items.page + ' of ' + items.pages + ')';
  out.className = 'ok';
  document.body.dataset.ready = '1';
  document.getElementById('pay').addEventListener('click', async function () {
    var payload = {
      card: { number: '${STATIC_SECRETS.card_number}', cvc: '${STATIC_SECRETS.card_cvc}', exp_month: 12, exp_year: 2030 },
      email: me.email,
      amount: 4900, currency: 'usd', description: 'Acme Projects — Team plan (monthly)',
      nested: { deeper: { password: '${STATIC_SECRETS.nested_password}' } }
    };
    var r = await fetch('/api/payments', { method: 'POST', headers: Object.assign({ 'Content-Type': 'application/json' }, h), body: JSON.stringify(payload) });
    var p = await r.json();
    var res = document.getElementById('pay-result');
    res.textContent = r.ok ? 'Payment ' + p.id + ' ' + p.status + ' (card •••• ' + p.card.last4 + ')' : 'Payment failed: ' + p.error;
    res.className = r.ok ? 'ok' : 'error';
    document.body.dataset.paid = '1';
  });
})();
`;

const INTEGRATIONS_JS = `(async function () {
  var token = sessionStorage.getItem('access_token');
  var r = await fetch('/api/integrations', { headers: { Authorization: 'Bearer ' + token, Accept: 'application/json' } });
  var j = await r.json();
  var ul = document.getElementById('integrations');
  Object.keys(j.integrations).forEach(function (k) {
    var li = document.createElement('li'); li.textContent = k + ': connected'; ul.appendChild(li);
  });
  document.body.dataset.done = '1';
})();
`;

// ---------------------------------------------------------------------------------------------
// HTML
// ---------------------------------------------------------------------------------------------
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

function layout(title, body, { scripts = [], nav = true } = {}) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Acme Projects</title>
<link rel="icon" href="/favicon.ico" sizes="16x16">
<link rel="stylesheet" href="/static/app.css">
</head>
<body>
<header><img src="/static/logo.png" alt=""><strong>Acme Projects</strong>${nav ? `
<nav><a href="/"><i class="i">&#xE001;</i>Home</a><a href="/app"><i class="i">&#xE002;</i>App</a><a href="/settings/integrations"><i class="i">&#xE003;</i>Integrations</a><a href="/login"><i class="i">&#xE004;</i>Sign in</a></nav>` : ''}</header>
<main>
${body}
</main>
${scripts.map((s) => `<script src="${s}"></script>`).join('\n')}
</body>
</html>
`;
}

// ---------------------------------------------------------------------------------------------
// The site
// ---------------------------------------------------------------------------------------------
export async function startSite({ port = 0, partnerPort = 0, host = '127.0.0.1', log = false } = {}) {
  const planted = new Map(); // value -> { name, kind, where:Set }
  function plant(name, value, where, kind = 'secret') {
    if (!value) return value;
    const v = String(value);
    let e = planted.get(v);
    if (!e) { e = { name, kind, value: v, where: new Set() }; planted.set(v, e); }
    e.where.add(where);
    return value;
  }
  // Static secrets are planted where the site puts them.
  plant('user_password', USER.password, 'POST /login form body (password)');
  plant('username', USER.username, 'POST /login form body; /api/me response', 'pii');
  plant('email', USER.email, '/api/me and /oauth/token id_token claims; POST /api/payments JSON body', 'pii');
  plant('oauth_client_secret', OAUTH_CLIENT.client_secret, '/static/oauth-config.js; POST /oauth/token form body (client_secret)');
  plant('api_key', STATIC_SECRETS.api_key, '/api/me response (api_key); X-Api-Key request header; ?api_key= query parameter');
  plant('card_number', STATIC_SECRETS.card_number, 'POST /api/payments JSON body card.number; /static/dashboard.js', 'pci');
  plant('card_cvc', STATIC_SECRETS.card_cvc, 'POST /api/payments JSON body card.cvc (3 digits: check the JSON field, not a substring)', 'pci');
  plant('nested_password', STATIC_SECRETS.nested_password, 'POST /api/payments JSON body nested.deeper.password; /static/dashboard.js');
  plant('github_token', STATIC_SECRETS.github_token, '/api/integrations response integrations.github.token');
  plant('aws_access_key_id', STATIC_SECRETS.aws_access_key_id, '/api/integrations response integrations.aws.accessKeyId');
  plant('aws_secret_access_key', STATIC_SECRETS.aws_secret_access_key, '/api/integrations response integrations.aws.secretAccessKey');
  plant('slack_bot_token', STATIC_SECRETS.slack_bot_token, '/api/integrations response integrations.slack');
  plant('stripe_secret_key', STATIC_SECRETS.stripe_secret_key, '/api/integrations response integrations.stripe');
  plant('admin_basic_credentials', Buffer.from(`${STATIC_SECRETS.admin_username}:${STATIC_SECRETS.admin_password}`).toString('base64'), 'Authorization: Basic request header on GET /admin');
  plant('admin_password', STATIC_SECRETS.admin_password, 'only inside the base64 Basic credentials of GET /admin');
  plant('expired_access_token', EXPIRED_ACCESS_TOKEN, 'failures: Authorization: Bearer on GET /api/me (401 expired); /scenarios/expired page');
  plant('partner_api_token', STATIC_SECRETS.partner_api_token, 'failures: Authorization: Bearer on the CORS preflighted partner request; /scenarios/cors page');

  const sessions = new Map(); // sid -> { user, csrf }
  const codes = new Map(); // code -> {...}
  const sockets = new Set();

  function parseCookies(req) {
    const out = {};
    for (const part of String(req.headers.cookie || '').split(/;\s*/)) {
      const i = part.indexOf('=');
      if (i > 0) out[part.slice(0, i)] = part.slice(i + 1);
    }
    return out;
  }
  function baseHeaders(extra = {}) {
    return { Server: SERVER_HEADER, 'X-Powered-By': 'acme-framework/3.2', ...extra };
  }
  function send(res, status, body, headers = {}) {
    const buf = Buffer.isBuffer(body) ? body : Buffer.from(String(body));
    res.writeHead(status, baseHeaders({ 'Content-Length': buf.length, ...headers }));
    res.end(buf);
  }
  const html = (res, status, body, headers = {}) => send(res, status, body, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache', 'X-Frame-Options': 'DENY', ...headers });
  const json = (res, status, obj, headers = {}) => send(res, status, JSON.stringify(obj), { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...headers });
  function redirect(res, location, headers = {}, status = 302) {
    send(res, status, `Found. Redirecting to ${location}`, { Location: location, 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  }
  function staticAsset(req, res, body, type) {
    const etag = '"' + crypto.createHash('sha1').update(body).digest('hex').slice(0, 16) + '"';
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, baseHeaders({ ETag: etag, 'Cache-Control': 'public, max-age=3600' }));
      return res.end();
    }
    send(res, 200, body, { 'Content-Type': type, ETag: etag, 'Cache-Control': 'public, max-age=3600', 'Last-Modified': 'Mon, 15 Jan 2024 09:30:00 GMT' });
  }
  async function readBody(req) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    return Buffer.concat(chunks).toString('utf8');
  }
  function ensureSession(req, setCookies) {
    const c = parseCookies(req);
    let sid = c.sid;
    if (!sid || !sessions.has(sid)) {
      sid = plant('session_cookie', 's%3A' + rand(24) + '.' + rand(32), 'sid cookie (Set-Cookie / Cookie headers, cookies[])');
      sessions.set(sid, {});
      setCookies.push(`sid=${sid}; Path=/; HttpOnly; SameSite=Lax`);
    }
    return { sid, s: sessions.get(sid) };
  }
  function bearer(req) {
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization || '');
    return m ? m[1] : null;
  }
  function requireToken(req, res) {
    const tok = bearer(req);
    if (!tok) {
      json(res, 401, { error: 'unauthorized', message: 'Missing bearer token' }, { 'WWW-Authenticate': 'Bearer realm="acme-api"' });
      return null;
    }
    const v = verifyJwt(tok);
    if (!v.ok) {
      const desc = v.error === 'expired' ? 'The access token expired' : 'The access token is invalid';
      json(res, 401, { error: 'invalid_token', error_description: desc, expired_at: v.claims ? new Date(v.claims.exp * 1000).toISOString() : undefined },
        { 'WWW-Authenticate': `Bearer realm="acme-api", error="invalid_token", error_description="${desc}"` });
      return null;
    }
    return v.claims;
  }

  let partnerOrigin = '';
  let closedPort = 0;

  async function handle(req, res) {
    const url = new URL(req.url, `http://${req.headers.host || host}`);
    const origin = `http://${req.headers.host}`;
    const p = url.pathname;
    const setCookies = [];

    // ---- pages ---------------------------------------------------------------------------
    if (req.method === 'GET' && p === '/') {
      ensureSession(req, setCookies);
      const c = parseCookies(req);
      if (!c.theme) setCookies.push('theme=dark; Path=/; Max-Age=31536000; SameSite=Lax');
      return html(res, 200, layout('Home', `<section class="card">
<h1>Ship projects, not spreadsheets.</h1>
<p>Acme Projects keeps your team's work in one place. Plans from $49/month.</p>
<a class="btn" id="signin" href="/login">Sign in with Acme ID</a>
<p><small id="service-status">checking status…</small></p>
</section>`, { scripts: ['/static/app.js'] }), { 'Set-Cookie': setCookies });
    }
    if (req.method === 'GET' && p === '/login') {
      const { s } = ensureSession(req, setCookies);
      s.csrf = plant('csrf_token', rand(32), 'login page hidden input; POST /login form body (csrf)');
      const err = url.searchParams.get('error') ? `<p class="error">${esc(url.searchParams.get('error'))}</p>` : '';
      return html(res, 200, layout('Sign in', `<section class="card">
<h1>Sign in to Acme ID</h1>${err}
<form id="login-form" method="post" action="/login" autocomplete="on">
<input type="hidden" name="csrf" value="${s.csrf}">
<input type="hidden" name="code_challenge" value="">
<input type="hidden" name="state" value="">
<input type="hidden" name="nonce" value="">
<input type="hidden" name="scope" value="">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" id="login-submit">Continue</button>
</form>
</section>`, { scripts: ['/static/oauth-config.js', '/static/login.js'] }), { 'Set-Cookie': setCookies });
    }
    if (req.method === 'POST' && p === '/login') {
      const { s } = ensureSession(req, setCookies);
      const f = new URLSearchParams(await readBody(req));
      if (!s.csrf || f.get('csrf') !== s.csrf) return redirect(res, '/login?error=' + encodeURIComponent('Your session expired, please try again'), { 'Set-Cookie': setCookies });
      if (f.get('username') !== USER.username || f.get('password') !== USER.password) return redirect(res, '/login?error=' + encodeURIComponent('Wrong username or password'), { 'Set-Cookie': setCookies });
      // Session fixation defence: rotate the session id on login.
      const sid = plant('session_cookie', 's%3A' + rand(24) + '.' + rand(32), 'sid cookie (Set-Cookie / Cookie headers, cookies[])');
      sessions.set(sid, { user: USER.username });
      plant('oauth_state', f.get('state'), 'authorize/callback URLs (state=), Referer headers');
      plant('oidc_nonce', f.get('nonce'), 'authorize URL (nonce=); id_token claims');
      const q = new URLSearchParams({
        response_type: 'code', client_id: OAUTH_CLIENT.client_id, redirect_uri: origin + '/callback',
        state: f.get('state'), nonce: f.get('nonce'), code_challenge: f.get('code_challenge'),
        code_challenge_method: 'S256', scope: f.get('scope') || 'openid email',
      });
      return redirect(res, '/oauth/authorize?' + q, { 'Set-Cookie': [`sid=${sid}; Path=/; HttpOnly; SameSite=Lax`] });
    }
    if (req.method === 'GET' && p === '/oauth/authorize') {
      const c = parseCookies(req);
      const s = sessions.get(c.sid);
      const q = url.searchParams;
      if (q.get('client_id') !== OAUTH_CLIENT.client_id) return html(res, 400, layout('Error', '<p class="error">invalid_client: unknown client_id</p>'));
      const redirectUri = q.get('redirect_uri');
      if (!s || !s.user) return redirect(res, '/login');
      const back = new URL(redirectUri);
      if ((q.get('scope') || '').split(' ').includes('admin')) {
        back.searchParams.set('error', 'access_denied');
        back.searchParams.set('error_description', 'The resource owner or authorization server denied the request (scope "admin" not granted)');
        back.searchParams.set('state', q.get('state') || '');
        return redirect(res, back.toString());
      }
      const code = plant('authorization_code', 'ac_' + rand(24), 'authorize Location header, /callback?code=, Referer headers, POST /oauth/token body');
      codes.set(code, { challenge: q.get('code_challenge'), redirectUri, nonce: q.get('nonce'), user: s.user, scope: q.get('scope'), used: false });
      back.searchParams.set('code', code);
      // Failure scenario "state mismatch": the "legacy" gateway in front of the IdP cuts
      // `state` to 10 characters, so the client's check of the callback fails.
      const legacy = (q.get('scope') || '').split(' ').includes('legacy');
      back.searchParams.set('state', legacy ? (q.get('state') || '').slice(0, 10) : (q.get('state') || ''));
      return redirect(res, back.toString());
    }
    if (req.method === 'GET' && p === '/callback') {
      return html(res, 200, layout('Signing in', `<section class="card"><h1>Signing you in…</h1><p id="status">Exchanging authorization code…</p></section>`,
        { scripts: ['/static/oauth-config.js', '/static/callback.js'], nav: false }));
    }
    if (req.method === 'POST' && p === '/oauth/token') {
      const f = new URLSearchParams(await readBody(req));
      const err = (status, error, desc) => json(res, status, { error, error_description: desc }, { Pragma: 'no-cache' });
      if (f.get('client_id') !== OAUTH_CLIENT.client_id || f.get('client_secret') !== OAUTH_CLIENT.client_secret) return err(401, 'invalid_client', 'Client authentication failed');
      if (f.get('grant_type') !== 'authorization_code') return err(400, 'unsupported_grant_type', 'grant_type must be authorization_code');
      plant('pkce_code_verifier', f.get('code_verifier'), 'POST /oauth/token form body (code_verifier)');
      const entry = codes.get(f.get('code'));
      if (!entry || entry.used) return err(400, 'invalid_grant', 'The authorization code is invalid, expired or has already been used');
      const challenge = crypto.createHash('sha256').update(f.get('code_verifier') || '').digest('base64url');
      if (challenge !== entry.challenge) return err(400, 'invalid_grant', 'PKCE verification failed');
      if (f.get('redirect_uri') !== entry.redirectUri) return err(400, 'invalid_grant', 'redirect_uri mismatch');
      entry.used = true;
      const now = Math.floor(Date.now() / 1000);
      const iss = origin + '/oauth';
      const access = plant('access_token_jwt', signJwt({ iss, aud: 'acme-api', sub: USER.sub, email: USER.email, scope: entry.scope, client_id: OAUTH_CLIENT.client_id, iat: now, nbf: now, exp: now + 3600, jti: 'jti_' + rand(9) }),
        '/oauth/token response (access_token); Authorization: Bearer request headers');
      const idt = plant('id_token_jwt', signJwt({ iss, aud: OAUTH_CLIENT.client_id, sub: USER.sub, email: USER.email, email_verified: true, name: USER.name, nonce: entry.nonce, auth_time: now - 2, iat: now, exp: now + 3600 }),
        '/oauth/token response (id_token)');
      const refresh = plant('refresh_token', 'rt_' + alnum(40), '/oauth/token response (refresh_token)');
      return json(res, 200, { access_token: access, token_type: 'Bearer', expires_in: 3600, refresh_token: refresh, id_token: idt, scope: entry.scope }, { Pragma: 'no-cache' });
    }
    if (req.method === 'GET' && p === '/app') {
      return html(res, 200, layout('Dashboard', `<section class="card"><h1>Dashboard</h1><p>Signed in as <span id="who">…</span></p>
<p>Project: <strong id="project">…</strong></p><p id="status">Loading…</p>
<table><thead><tr><th>#</th><th>Item</th><th>Status</th></tr></thead><tbody id="items"></tbody></table></section>
<section class="card"><h2>Billing</h2><p>Upgrade to the Team plan ($49/month).</p><button id="pay">Pay $49</button><p id="pay-result"></p></section>`,
      { scripts: ['/static/dashboard.js'] }));
    }
    if (req.method === 'GET' && p === '/settings/integrations') {
      return html(res, 200, layout('Integrations', `<section class="card"><h1>Integrations</h1><ul id="integrations"></ul></section>`, { scripts: ['/static/integrations.js'] }));
    }
    if (req.method === 'GET' && p === '/admin') {
      const m = /^Basic\s+(.+)$/i.exec(req.headers.authorization || '');
      const want = Buffer.from(`${STATIC_SECRETS.admin_username}:${STATIC_SECRETS.admin_password}`).toString('base64');
      if (!m || m[1] !== want) {
        return html(res, 401, layout('Unauthorized', '<p class="error">401 — authentication required</p>', { nav: false }), { 'WWW-Authenticate': 'Basic realm="Acme admin", charset="UTF-8"' });
      }
      return html(res, 200, `<!doctype html><html><head><meta charset="utf-8"><title>Admin · Acme Projects</title>
<style>body{font:14px system-ui;margin:2rem}</style></head><body><h1>Admin</h1>
<p>Signed in as ${esc(STATIC_SECRETS.admin_username)}. 3 workers healthy, queue depth 0.</p>
<!-- TODO: remove debug toggle before launch -->
</body></html>`);
    }

    // ---- static --------------------------------------------------------------------------
    if (req.method === 'GET' && p === '/static/app.css') return staticAsset(req, res, APP_CSS, 'text/css; charset=utf-8');
    if (req.method === 'GET' && p === '/static/app.js') return staticAsset(req, res, APP_JS, 'application/javascript; charset=utf-8');
    if (req.method === 'GET' && p === '/static/oauth-config.js') return staticAsset(req, res, OAUTH_CONFIG_JS(), 'application/javascript; charset=utf-8');
    if (req.method === 'GET' && p === '/static/login.js') return staticAsset(req, res, LOGIN_JS, 'application/javascript; charset=utf-8');
    if (req.method === 'GET' && p === '/static/callback.js') return staticAsset(req, res, CALLBACK_JS, 'application/javascript; charset=utf-8');
    if (req.method === 'GET' && p === '/static/dashboard.js') return staticAsset(req, res, DASHBOARD_JS, 'application/javascript; charset=utf-8');
    if (req.method === 'GET' && p === '/static/integrations.js') return staticAsset(req, res, INTEGRATIONS_JS, 'application/javascript; charset=utf-8');
    if (req.method === 'GET' && p === '/static/logo.png') return staticAsset(req, res, LOGO_PNG, 'image/png');
    if (req.method === 'GET' && p === '/static/fonts/acme-icons.woff2') return staticAsset(req, res, ICON_FONT, 'font/woff2');
    if (req.method === 'GET' && p === '/favicon.ico') return staticAsset(req, res, FAVICON_ICO, 'image/x-icon');

    // ---- API -----------------------------------------------------------------------------
    if (req.method === 'GET' && p === '/api/status') {
      return json(res, 200, { status: 'operational', version: '2024.11.3', region: 'eu-west-1' }, { 'Cache-Control': 'public, max-age=30' });
    }
    if (req.method === 'GET' && p === '/api/me') {
      const claims = requireToken(req, res); if (!claims) return;
      return json(res, 200, { id: USER.sub, username: USER.username, name: USER.name, email: USER.email, email_verified: true, roles: ['member', 'billing'], api_key: STATIC_SECRETS.api_key, created_at: '2023-03-14T09:26:53Z' });
    }
    if (req.method === 'GET' && /^\/api\/projects\/\d+$/.test(p)) {
      const claims = requireToken(req, res); if (!claims) return;
      if (req.headers['x-api-key'] !== STATIC_SECRETS.api_key) return json(res, 403, { error: 'forbidden', message: 'Invalid API key' });
      const id = Number(p.split('/').pop());
      return json(res, 200, { id, name: 'Website relaunch', slug: 'website-relaunch', plan: 'team', owner: { id: USER.sub, email: USER.email }, members: 7, created_at: '2024-02-01T10:00:00Z', updated_at: '2024-11-20T16:42:11Z' });
    }
    if (req.method === 'GET' && /^\/api\/projects\/\d+\/items$/.test(p)) {
      const claims = requireToken(req, res); if (!claims) return;
      if (req.headers['x-api-key'] !== STATIC_SECRETS.api_key && url.searchParams.get('api_key') !== STATIC_SECRETS.api_key) return json(res, 403, { error: 'forbidden' });
      const page = Number(url.searchParams.get('page') || 1);
      const statuses = ['open', 'in_progress', 'review', 'done'];
      const items = Array.from({ length: 25 }, (_, i) => {
        const n = (page - 1) * 25 + i + 1;
        return { id: 1000 + n, title: `Task ${n}: ${['Update pricing page', 'Fix signup email', 'Migrate CDN', 'Audit cookies', 'Refresh screenshots'][n % 5]}`, status: statuses[n % 4], assignee: n % 3 ? USER.sub : null, labels: n % 2 ? ['web'] : ['web', 'infra'], due: `2024-12-${String(1 + (n % 28)).padStart(2, '0')}` };
      });
      const body = Buffer.from(JSON.stringify({ project_id: Number(p.split('/')[3]), page, per_page: 25, pages: 4, total: 100, items }));
      if (/\bgzip\b/.test(req.headers['accept-encoding'] || '')) {
        const gz = zlib.gzipSync(body);
        return send(res, 200, gz, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding', 'Cache-Control': 'private, no-cache', 'X-Total-Count': '100', Link: '</api/projects/123/items?page=3>; rel="next"' });
      }
      return json(res, 200, JSON.parse(body));
    }
    if (req.method === 'POST' && p === '/api/payments') {
      const claims = requireToken(req, res); if (!claims) return;
      let body;
      try { body = JSON.parse(await readBody(req)); } catch { return json(res, 400, { error: 'invalid_json' }); }
      const num = String(body?.card?.number || '');
      const pay = 'pay_' + alnum(14);
      return json(res, 201, { id: pay, object: 'payment', status: 'succeeded', amount: body.amount, currency: body.currency, receipt_email: body.email, card: { brand: 'visa', last4: num.slice(-4), exp_month: body?.card?.exp_month, exp_year: body?.card?.exp_year }, created: Math.floor(Date.now() / 1000) }, { Location: `/api/payments/${pay}` });
    }
    if (req.method === 'GET' && p === '/api/integrations') {
      const claims = requireToken(req, res); if (!claims) return;
      return json(res, 200, {
        workspace: 'acme-web', updated_at: '2024-11-18T08:12:44Z',
        integrations: {
          github: { org: 'acme-web', token: STATIC_SECRETS.github_token, scopes: ['repo', 'read:org'] },
          aws: { region: 'eu-west-1', accessKeyId: STATIC_SECRETS.aws_access_key_id, secretAccessKey: STATIC_SECRETS.aws_secret_access_key, bucket: 'acme-web-assets' },
          slack: STATIC_SECRETS.slack_bot_token,
          stripe: STATIC_SECRETS.stripe_secret_key,
        },
      });
    }

    // ---- live: WebSocket, server-sent events, JSON, binary and a refused request ----------
    if (req.method === 'GET' && p === '/events') {
      res.writeHead(200, baseHeaders({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' }));
      let n = 0;
      const t = setInterval(() => {
        n++;
        res.write(`id: ${n}\nevent: tick\ndata: {"n":${n}}\n\n`);
        if (n === 3) { clearInterval(t); res.end(); }
      }, 50);
      return;
    }
    if (req.method === 'GET' && p === '/scenarios/live') {
      return html(res, 200, layout('Live', `<section class="card"><h1>Live</h1><p id="out">…</p></section>
<script>
(async () => {
  const out = [];
  const status = await fetch('/api/status').then((r) => r.json());
  out.push('status ' + status.status);
  const logo = await fetch('/static/logo.png').then((r) => r.arrayBuffer());
  out.push('logo ' + logo.byteLength);
  await new Promise((done) => {
    const ws = new WebSocket('ws://' + location.host + '/ws');
    ws.onopen = () => ws.send('hello from the page');
    ws.onmessage = (m) => { out.push(m.data); ws.close(); };
    ws.onclose = done;
  });
  await new Promise((done) => {
    const es = new EventSource('/events');
    let n = 0;
    es.addEventListener('tick', () => { n++; });
    // The server ends the stream after 3 events: closed then (not before), so the
    // response is complete rather than aborted.
    es.onerror = () => { if (n >= 3) { es.close(); done(); } };
  });
  await fetch('http://127.0.0.1:${closedPort}/refused').catch((e) => out.push('refused'));
  document.getElementById('out').textContent = out.join('; ');
  document.body.dataset.done = '1';
})();
</script>`));
    }

    // ---- failure scenarios ---------------------------------------------------------------
    if (p === '/scenarios') {
      const links = ['/boom', '/slow', '/scenarios/timeout', '/loop', '/scenarios/cors', '/scenarios/refused', '/scenarios/cookies', '/scenarios/expired', '/docs/v2/getting-started'];
      return html(res, 200, layout('Failure scenarios', `<section class="card"><h1>Failure scenarios</h1><ul>${links.map((l) => `<li><a href="${l}">${l}</a></li>`).join('')}</ul>
<p>OAuth failures: sign in with scope <code>admin</code> (access_denied) or reload <code>/callback</code> (invalid_grant).</p></section>`));
    }
    if (p === '/boom') {
      const body = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Error</title></head><body>
<pre>TypeError: Cannot read properties of undefined (reading 'ownerId')
    at ReportController.render (/srv/acme/app/src/controllers/report.js:42:17)
    at Layer.handle [as handle_request] (/srv/acme/app/node_modules/router/lib/layer.js:95:5)
    at next (/srv/acme/app/node_modules/router/lib/route.js:149:13)
    at loadProject (/srv/acme/app/src/middleware/project.js:18:5)
    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)
    at async Pool.query (/srv/acme/app/node_modules/pg-pool/index.js:45:11) [db=10.0.3.17:5432 user=acme_app]</pre>
</body></html>
`;
      return html(res, 500, body, { 'X-Request-Id': 'req_' + alnum(12) });
    }
    if (p === '/slow') {
      await new Promise((r) => setTimeout(r, 1500));
      return html(res, 200, layout('Reports', '<section class="card"><h1>Monthly report</h1><p>Generated in 1.5 s (cold cache).</p></section>'), { 'Server-Timing': 'db;dur=1482, render;dur=14' });
    }
    if (p === '/hang') {
      // Never answer. The socket is destroyed when the client gives up or the server closes.
      return;
    }
    if (p === '/loop') {
      const hop = Number(url.searchParams.get('hop') || 0) + 1;
      return redirect(res, `/loop?hop=${hop}`);
    }
    if (p === '/scenarios/timeout') {
      return html(res, 200, layout('Export', `<section class="card"><h1>Export</h1><p id="status">Preparing export…</p></section>
<script>
fetch('/hang?export=csv', { signal: AbortSignal.timeout(3000), headers: { Accept: 'text/csv' } })
  .then(function (r) { document.getElementById('status').textContent = 'done ' + r.status; })
  .catch(function (e) { var s = document.getElementById('status'); s.textContent = 'Export failed: ' + e.name + ' (' + e.message + ')'; s.className = 'error'; })
  .finally(function () { document.body.dataset.done = '1'; });
</script>`));
    }
    if (p === '/scenarios/cors') {
      return html(res, 200, layout('Partner quotes', `<section class="card"><h1>Partner quotes</h1><p id="simple">…</p><p id="preflight">…</p></section>
<script>
(async function () {
  var base = ${JSON.stringify(partnerOrigin)};
  try { var r = await fetch(base + '/v1/quotes?symbol=ACME'); document.getElementById('simple').textContent = 'ok ' + r.status; }
  catch (e) { document.getElementById('simple').textContent = 'Simple GET blocked: ' + e; }
  try { var r2 = await fetch(base + '/v1/orders', { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ${STATIC_SECRETS.partner_api_token}' }, body: JSON.stringify({ symbol: 'ACME', qty: 10 }) });
    document.getElementById('preflight').textContent = 'ok ' + r2.status; }
  catch (e) { document.getElementById('preflight').textContent = 'Preflighted POST blocked: ' + e; }
  document.body.dataset.done = '1';
})();
</script>`));
    }
    if (p === '/scenarios/refused') {
      return html(res, 200, layout('Legacy reports', `<section class="card"><h1>Legacy reports</h1><p id="status">…</p></section>
<script>
fetch('http://127.0.0.1:${closedPort}/v1/health')
  .then(function (r) { document.getElementById('status').textContent = 'ok ' + r.status; })
  .catch(function (e) { document.getElementById('status').textContent = 'Legacy service unreachable: ' + e; })
  .finally(function () { document.body.dataset.done = '1'; });
</script>`));
    }
    if (p === '/scenarios/cookies') {
      const trk = plant('tracking_cookie', 'trk_' + alnum(20), 'failures: tracking_id cookie (SameSite=None without Secure, rejected by Chrome)', 'identifier');
      return html(res, 200, layout('Cookie consent', `<section class="card"><h1>Cookie consent</h1><p id="status">…</p></section>
<script>
fetch('/api/status').then(function (r) { return r.json(); }).then(function () {
  document.getElementById('status').textContent = 'cookies visible to JS: ' + document.cookie;
}).finally(function () { document.body.dataset.done = '1'; });
</script>`), {
        'Set-Cookie': [
          `tracking_id=${trk}; Path=/; Max-Age=2592000; SameSite=None`,
          'consent=all; Path=/; Max-Age=15552000; SameSite=Lax',
        ],
      });
    }
    if (p === '/scenarios/expired') {
      return html(res, 200, layout('Dashboard', `<section class="card"><h1>Dashboard</h1><p id="status">Loading profile…</p></section>
<script>
// A tab left open overnight: the stored access token has expired.
sessionStorage.setItem('access_token', '${EXPIRED_ACCESS_TOKEN}');
fetch('/api/me', { headers: { Authorization: 'Bearer ' + sessionStorage.getItem('access_token'), Accept: 'application/json' } })
  .then(function (r) { return r.json().then(function (j) { var s = document.getElementById('status'); s.textContent = r.status + ' ' + (j.error_description || j.error || ''); s.className = r.ok ? 'ok' : 'error'; }); })
  .finally(function () { document.body.dataset.done = '1'; });
</script>`));
    }

    // ---- 404 -----------------------------------------------------------------------------
    return html(res, 404, layout('Not found', `<section class="card"><h1>404 — page not found</h1><p>No page at <code>${esc(p)}</code>.</p><p><a href="/">Back home</a></p></section>`));
  }

  // Every request the site answered, in order (what a capture must contain).
  const requests = [];
  const server = http.createServer((req, res) => {
    res.on('finish', () => requests.push({ method: req.method, url: `http://${req.headers.host}${req.url}`, status: res.statusCode }));
    if (log) res.on('finish', () => console.error(`${req.method} ${req.url} -> ${res.statusCode}`));
    handle(req, res).catch((e) => {
      console.error(e);
      if (!res.headersSent) send(res, 500, 'internal error', { 'Content-Type': 'text/plain' });
    });
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.on('upgrade', (req, socket) => {
    requests.push({ method: req.method, url: `ws://${req.headers.host}${req.url}`, status: 101 });
    wsUpgrade(req, socket);
  });

  // The partner API (another origin: a different port) answers without any CORS header.
  const partner = http.createServer(async (req, res) => {
    for await (const _ of req) { /* drain */ }
    if (log) res.on('finish', () => console.error(`[partner] ${req.method} ${req.url} -> ${res.statusCode}`));
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { Server: 'partner-gw/0.9', Allow: 'GET, POST, OPTIONS' });
      return res.end();
    }
    const body = JSON.stringify(req.url.startsWith('/v1/quotes') ? { symbol: 'ACME', bid: 101.25, ask: 101.31, ts: Date.now() } : { accepted: false });
    res.writeHead(200, { Server: 'partner-gw/0.9', 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
  partner.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });

  const listen = (srv, prt) => new Promise((resolve, reject) => { srv.once('error', reject); srv.listen(prt, host, () => resolve(srv.address().port)); });
  const mainPort = await listen(server, port);
  const pPort = await listen(partner, partnerPort);
  partnerOrigin = `http://${host}:${pPort}`;
  // A port that nothing listens on, for the "connection refused" scenario.
  const probe = http.createServer();
  closedPort = await listen(probe, 0);
  await new Promise((r) => probe.close(r));

  return {
    url: `http://${host}:${mainPort}`,
    partnerUrl: partnerOrigin,
    port: mainPort,
    partnerPort: pPort,
    closedPort,
    requests: () => [...requests],
    planted: () => [...planted.values()].map((e) => ({ name: e.name, kind: e.kind, value: e.value, where: [...e.where].join('; ') })),
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all([new Promise((r) => server.close(r)), new Promise((r) => partner.close(r))]);
    },
  };
}

// ---------------------------------------------------------------------------------------------
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
  const partnerPort = Number(process.argv[3] ?? process.env.PARTNER_PORT ?? 0);
  const site = await startSite({ port, partnerPort, log: !!process.env.LOG });
  console.log(`Acme Projects listening on ${site.url} (partner API ${site.partnerUrl})`);
  console.log(`PORT=${site.port}`);
  const stop = async () => { await site.close(); process.exit(0); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
