#!/usr/bin/env node
// Records real Chromium HAR fixtures for hark from the local fake SaaS in site/server.mjs.
//
//   cd testdata && npm ci && node record.mjs            # everything
//   node record.mjs --only healthy,failures             # a subset (healthy|failures|mitmproxy)
//   node record.mjs --skip-mitmproxy
//
// Env: CHROMIUM (default /usr/bin/chromium), MITMDUMP (default: mitmdump on PATH).
// Writes har/*.har and site/secrets.json, then validates every HAR with har-validator.

import fs from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, LOOPBACK_ONLY } from './chromium.mjs';
import { startSite, USER, STATIC_SECRETS } from './site/server.mjs';
import { validateFile } from './validate.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.join(HERE, 'har');
const SECRETS_FILE = path.join(HERE, 'site', 'secrets.json');
const MITMDUMP = process.env.MITMDUMP || 'mitmdump';
// Chromium still calls Google services on its own; never resolve any name but loopback ones.
const BASE_ARGS = [...CHROMIUM_ARGS, LOOPBACK_ONLY];

const FILES = {
  healthy: 'example-login.chromium.har',
  failures: 'failures.chromium.har',
  mitmproxy: 'login.mitmproxy.har',
  noPreserve: 'login-no-preserve-log.har',
  sanitized: 'login-sanitized-export.har',
  fromCache: 'login-from-cache.har',
};

const argv = process.argv.slice(2);
const onlyArg = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : null;
const only = new Set(onlyArg ? onlyArg.split(',') : ['healthy', 'failures', 'mitmproxy']);
if (argv.includes('--skip-mitmproxy')) only.delete('mitmproxy');

const log = (...a) => console.log('[record]', ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Browser session helpers
// ---------------------------------------------------------------------------------------------
async function withBrowser({ harPath = null, extraArgs = [] }, fn) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...BASE_ARGS, ...extraArgs] });
  try {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 800 },
      locale: 'en-US',
      timezoneId: 'UTC',
      ...(harPath ? { recordHar: { path: harPath, content: 'embed', mode: 'full' } } : {}),
    });
    context.setDefaultTimeout(15000);
    const page = await context.newPage();
    try {
      await fn(page, context);
    } finally {
      await context.close(); // writes the HAR
    }
  } finally {
    await browser.close();
  }
}

async function waitFor(page, selector) {
  await page.waitForSelector(selector, { state: 'attached' });
}

async function settle(page) {
  // Let late requests (favicon, ...) finish so they are in the HAR with a response.
  await page.waitForLoadState('networkidle').catch(() => {});
  await sleep(150);
}

async function signIn(page, site, { scope = null } = {}) {
  await waitFor(page, 'body[data-ready]'); // login.js loaded
  await page.fill('#username', USER.username);
  await page.fill('#password', USER.password);
  if (scope) await page.$eval('input[name=scope]', (el, s) => { el.value = s; }, scope);
  await page.click('#login-submit');
}

// The healthy flow: home → login → authorize → callback → token → API calls → payment →
// integrations → Basic-auth admin page.
async function healthyFlow(page, site) {
  await page.goto(site.url + '/');
  await waitFor(page, 'body[data-done]');
  await settle(page);
  await page.click('#signin');
  await page.waitForURL('**/login');
  await signIn(page, site);
  await page.waitForURL('**/app');
  await waitFor(page, 'body[data-ready]');
  await settle(page);
  await page.click('#pay');
  await waitFor(page, 'body[data-paid]');
  await settle(page);
  await page.click('nav a[href="/settings/integrations"]');
  await page.waitForURL('**/settings/integrations');
  await waitFor(page, 'body[data-done]');
  await settle(page);
  const basic = Buffer.from(`${STATIC_SECRETS.admin_username}:${STATIC_SECRETS.admin_password}`).toString('base64');
  await page.setExtraHTTPHeaders({ Authorization: `Basic ${basic}` });
  await page.goto(site.url + '/admin');
  await settle(page);
  await page.setExtraHTTPHeaders({});
}

// Each failure scenario runs in its own tab, so each is its own HAR page.
async function failuresFlow(firstPage, site, context) {
  let first = true;
  const step = async (name, fn) => {
    log(`  failure scenario: ${name}`);
    const page = first ? firstPage : await context.newPage();
    first = false;
    await fn(page);
    await settle(page);
    await page.close();
  };
  await step('home', async (page) => { await page.goto(site.url + '/'); await waitFor(page, 'body[data-done]'); });
  await step('404', (page) => page.goto(site.url + '/docs/v2/getting-started'));
  await step('500 with stack trace', (page) => page.goto(site.url + '/boom'));
  await step('slow (1.5 s)', (page) => page.goto(site.url + '/slow'));
  await step('hang (fetch aborted by the page after 3 s)', async (page) => { await page.goto(site.url + '/scenarios/timeout'); await waitFor(page, 'body[data-done]'); });
  await step('redirect loop', async (page) => {
    const err = await page.goto(site.url + '/loop').then(() => null, (e) => e);
    if (!err) throw new Error('/loop did not fail');
    log(`    ${String(err.message).split('\n')[0]}`);
  });
  await step('CORS', async (page) => { await page.goto(site.url + '/scenarios/cors'); await waitFor(page, 'body[data-done]'); });
  await step('connection refused', async (page) => { await page.goto(site.url + '/scenarios/refused'); await waitFor(page, 'body[data-done]'); });
  await step('SameSite=None without Secure', async (page) => { await page.goto(site.url + '/scenarios/cookies'); await waitFor(page, 'body[data-done]'); });
  await step('OAuth access_denied', async (page) => {
    await page.goto(site.url + '/login');
    await signIn(page, site, { scope: 'openid email admin' });
    await page.waitForURL('**/callback?error=**');
    await waitFor(page, 'body[data-done]');
  });
  await step('OAuth invalid_grant (callback reloaded, code reused)', async (page) => {
    await page.goto(site.url + '/login');
    let callbackUrl = null;
    const onNav = (f) => { if (f === page.mainFrame() && f.url().includes('/callback?code=')) callbackUrl = f.url(); };
    page.on('framenavigated', onNav);
    await signIn(page, site);
    await page.waitForURL('**/app');
    await waitFor(page, 'body[data-ready]');
    page.off('framenavigated', onNav);
    if (!callbackUrl) throw new Error('no callback URL seen');
    await settle(page);
    await page.goto(callbackUrl);
    await waitFor(page, 'body[data-done]');
  });
  await step('OAuth state mismatch (state cut short by the IdP gateway)', async (page) => {
    await page.goto(site.url + '/login');
    await signIn(page, site, { scope: 'openid email legacy' });
    await page.waitForURL('**/callback?code=**');
    await waitFor(page, 'body[data-done]');
  });
  await step('401 expired JWT', async (page) => { await page.goto(site.url + '/scenarios/expired'); await waitFor(page, 'body[data-done]'); });
}

// ---------------------------------------------------------------------------------------------
// mitmproxy
// ---------------------------------------------------------------------------------------------
async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

async function withMitmdump(harPath, fn) {
  const port = await freePort();
  const args = [
    '--listen-host', '127.0.0.1', '-p', String(port), '--set', `hardump=${harPath}`,
    // Loopback only: Chromium's own calls to Google are refused by the addon, never connected
    // upstream (lazy strategy), and kept out of the HAR.
    '-s', path.join(HERE, 'mitm-loopback-only.py'), '--set', 'connection_strategy=lazy',
    '--set', 'save_stream_filter=~d 127.0.0.1', '--set', 'flow_detail=0',
  ];
  log(`  ${MITMDUMP} ${args.join(' ')}`);
  const child = spawn(MITMDUMP, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve({ code, sig })));
  const t0 = Date.now();
  while (!/proxy listening/i.test(out)) {
    if (child.exitCode !== null) throw new Error(`mitmdump exited early:\n${out}`);
    if (Date.now() - t0 > 30000) { child.kill('SIGKILL'); throw new Error(`mitmdump did not start:\n${out}`); }
    await sleep(100);
  }
  try {
    await fn(port);
  } finally {
    child.kill('SIGINT'); // mitmdump writes the HAR on shutdown
    const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
    const r = await exited;
    clearTimeout(timer);
    log(`  mitmdump exited (${r.code ?? r.sig})`);
    if (!fs.existsSync(harPath)) throw new Error(`mitmdump wrote no HAR:\n${out}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Derived variants of the healthy HAR
// ---------------------------------------------------------------------------------------------
const clone = (o) => JSON.parse(JSON.stringify(o));
const byTime = (a, b) => Date.parse(a.startedDateTime) - Date.parse(b.startedDateTime);
const pathOf = (u) => new URL(u).pathname;

// Chrome with "Preserve log" off: what is left when the log is exported after the OAuth
// redirect chain, i.e. only the entries from the /callback document onwards.
function deriveNoPreserveLog(har) {
  const h = clone(har);
  const entries = [...h.log.entries].sort(byTime);
  const i = entries.findIndex((e) => pathOf(e.request.url) === '/callback');
  if (i < 0) throw new Error('no /callback entry in the healthy HAR');
  h.log.entries = entries.slice(i);
  const refs = new Set(h.log.entries.map((e) => e.pageref).filter(Boolean));
  if (Array.isArray(h.log.pages)) h.log.pages = h.log.pages.filter((p) => refs.has(p.id));
  return h;
}

// Chrome's default "Export HAR (sanitized)": Cookie, Set-Cookie and Authorization headers
// dropped, cookie arrays emptied. Everything else (query strings, bodies, X-Api-Key...) stays.
function deriveSanitizedExport(har) {
  const h = clone(har);
  const drop = new Set(['cookie', 'set-cookie', 'authorization']);
  for (const e of h.log.entries) {
    e.request.headers = e.request.headers.filter((x) => !drop.has(x.name.toLowerCase()));
    e.response.headers = e.response.headers.filter((x) => !drop.has(x.name.toLowerCase()));
    e.request.cookies = [];
    e.response.cookies = [];
  }
  return h;
}

// The same session as a tab would show it with a warm cache: static assets served from the
// memory cache (200, _fromCache "memory", nothing transferred), a cacheable API response from
// the disk cache, and the HTML documents revalidated with If-None-Match → 304 Not Modified.
function deriveFromCache(har) {
  const h = clone(har);
  const setHeader = (headers, name, value) => {
    const i = headers.findIndex((x) => x.name.toLowerCase() === name.toLowerCase());
    if (i >= 0) headers[i].value = value; else headers.push({ name, value });
  };
  const cachedTimings = (e, wait) => {
    e.timings = { blocked: 0.21, dns: -1, connect: -1, ssl: -1, send: 0, wait, receive: 0.09 };
    e.time = Number((0.21 + wait + 0.09).toFixed(3));
  };
  let n = 0;
  for (const e of h.log.entries) {
    const p = pathOf(e.request.url);
    const r = e.response;
    if (r.status !== 200 || e.request.method !== 'GET') continue;
    if (p.startsWith('/static/') || p === '/favicon.ico' || p === '/api/status') {
      e._fromCache = p === '/api/status' ? 'disk' : 'memory';
      r.bodySize = 0;
      r._transferSize = 0;
      if (e._fromCache === 'memory') r.headersSize = 0;
      cachedTimings(e, 0.12);
      delete e.connection;
      n++;
    } else if (['/', '/login', '/app', '/settings/integrations'].includes(p) && (r.content?.mimeType || '').startsWith('text/html')) {
      const etag = `W/"${(r.content.size || 0).toString(16)}-${p.length.toString(16)}a7c3"`;
      setHeader(e.request.headers, 'If-None-Match', etag);
      r.status = 304;
      r.statusText = 'Not Modified';
      r.headers = r.headers.filter((x) => !['content-length', 'content-type', 'set-cookie'].includes(x.name.toLowerCase()));
      setHeader(r.headers, 'ETag', etag);
      r.cookies = [];
      r.bodySize = 0;
      if (r.headersSize > 0) r._transferSize = r.headersSize; else delete r._transferSize;
      cachedTimings(e, 1.8);
      n++;
    }
  }
  h.log.entries.sort(byTime);
  log(`  from-cache: ${n} entries rewritten`);
  return h;
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------
fs.mkdirSync(OUT, { recursive: true });
const planted = new Map(); // value -> record
const written = [];

function collect(site) {
  for (const s of site.planted()) {
    const e = planted.get(s.value);
    if (e) { for (const w of s.where.split('; ')) if (!e.where.includes(w)) e.where += '; ' + w; }
    else planted.set(s.value, { ...s });
  }
}

async function run(name, fn) {
  if (!only.has(name)) return;
  log(`${name}`);
  const site = await startSite();
  log(`  site ${site.url} (partner ${site.partnerUrl})`);
  try {
    await fn(site);
  } finally {
    collect(site);
    await site.close();
  }
}

await run('healthy', async (site) => {
  const file = path.join(OUT, FILES.healthy);
  await withBrowser({ harPath: file }, (page) => healthyFlow(page, site));
  written.push(file);
  const har = JSON.parse(fs.readFileSync(file, 'utf8'));
  const derived = [
    [FILES.noPreserve, deriveNoPreserveLog(har)],
    [FILES.sanitized, deriveSanitizedExport(har)],
    [FILES.fromCache, deriveFromCache(har)],
  ];
  for (const [name, h] of derived) {
    const f = path.join(OUT, name);
    fs.writeFileSync(f, JSON.stringify(h, null, 2) + '\n');
    written.push(f);
  }
});

await run('failures', async (site) => {
  const file = path.join(OUT, FILES.failures);
  await withBrowser({ harPath: file }, (page, context) => failuresFlow(page, site, context));
  written.push(file);
});

await run('mitmproxy', async (site) => {
  const file = path.join(OUT, FILES.mitmproxy);
  fs.rmSync(file, { force: true });
  await withMitmdump(file, async (proxyPort) => {
    await withBrowser({
      extraArgs: [`--proxy-server=http://127.0.0.1:${proxyPort}`, '--proxy-bypass-list=<-loopback>'],
    }, (page) => healthyFlow(page, site));
  });
  written.push(file);
});

// ---- secrets.json: every planted value, and the HAR files it literally occurs in -----------
const allHars = fs.readdirSync(OUT).filter((f) => f.endsWith('.har')).sort();
const texts = Object.fromEntries(allHars.map((f) => [f, fs.readFileSync(path.join(OUT, f), 'utf8')]));
let previous = [];
try { previous = JSON.parse(fs.readFileSync(SECRETS_FILE, 'utf8')).secrets || []; } catch { /* first run */ }
// Keep per-run values of recordings that were not redone this time (--only) if they still occur.
for (const s of previous) if (!planted.has(s.value)) planted.set(s.value, { name: s.name, kind: s.kind, value: s.value, where: s.where });
const secrets = [];
for (const s of planted.values()) {
  const grep = s.value.length >= 8;
  const foundIn = allHars.filter((f) => texts[f].includes(s.value));
  if (!foundIn.length && previous.some((p) => p.value === s.value) && !Object.values(STATIC_SECRETS).includes(s.value)) continue; // stale per-run value
  secrets.push({ name: s.name, kind: s.kind, value: s.value, where: s.where, grep, found_in: grep ? foundIn.map((f) => `har/${f}`) : [] });
}
secrets.sort((a, b) => a.name.localeCompare(b.name) || a.value.localeCompare(b.value));
fs.writeFileSync(SECRETS_FILE, JSON.stringify({
  description: 'Every fake secret / PII value the test site (site/server.mjs) puts on the wire. Generated by record.mjs. '
    + 'found_in lists the HAR files that contain the value verbatim (substring of the file text); a sanitizer must leave none of '
    + 'them in its output. grep=false marks values too short to search as substrings (card_cvc "123"): check those by their '
    + 'JSON field instead. kind: secret | pii | pci | identifier.',
  secrets,
}, null, 2) + '\n');
log(`wrote ${path.relative(HERE, SECRETS_FILE)} (${secrets.length} values)`);

// ---- validate ------------------------------------------------------------------------------
let bad = 0;
for (const f of allHars) {
  const file = path.join(OUT, f);
  const r = await validateFile(file);
  const kb = (fs.statSync(file).size / 1024).toFixed(1);
  log(`${r.ok ? 'valid  ' : 'INVALID'} har/${f}: ${r.entries} entries, ${kb} KiB`);
  if (!r.ok) { bad++; for (const e of r.errors.slice(0, 20)) log(`    ${e.dataPath ?? ''} ${e.message}`); }
}
const healthy = path.join(OUT, FILES.healthy);
if (fs.existsSync(healthy) && fs.statSync(healthy).size > 300 * 1024) { log(`${FILES.healthy} is over 300 KiB`); bad++; }
process.exit(bad ? 1 : 0);
