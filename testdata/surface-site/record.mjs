#!/usr/bin/env node
// Records testdata/har/surface-shop.chromium.har: real Chromium (playwright-core) walking
// the shop in server.mjs: pages, a login form, then the API through fetch() with
// varying ids, JSON, form and multipart bodies, cookie and bearer auth.
//
//   cd testdata && node surface-site/record.mjs
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, LOOPBACK_ONLY } from '../chromium.mjs';
import { startServer } from './server.mjs';
import { validateFile } from '../validate.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.join(HERE, '..', 'har', 'surface-shop.chromium.har');
const ARGS = [...CHROMIUM_ARGS, LOOPBACK_ONLY];

const server = await startServer(0);
const base = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
const context = await browser.newContext({ recordHar: { path: OUT, content: 'embed', mode: 'full' } });
const page = await context.newPage();
await page.goto(base + '/');
await page.goto(base + '/shop'); // redirected to /login
await page.fill('input[name=email]', 'ann@shop.test');
await page.fill('input[name=password]', 'hunter2');
await Promise.all([page.waitForURL('**/shop'), page.click('button')]);
await page.goto(base + '/account');

await page.evaluate(async () => {
  const j = (m, u, body, h = {}) => fetch(u, { method: m, headers: { 'content-type': 'application/json', ...h }, body: body && JSON.stringify(body) });
  // Before logging in to the API: a bearer-less call that is refused.
  const tok = await (await fetch('/api/auth/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=password&username=ann&password=hunter2' })).json();
  await fetch('/api/auth/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=refresh_token&refresh_token=r1x9' });
  const B = { authorization: 'Bearer ' + tok.access_token, 'x-client-version': '2.3.1' };
  const g = (u) => fetch(u, { headers: B });
  for (const p of ['?page=1&limit=20', '?page=2&limit=20&sort=name']) await g('/api/users' + p);
  await j('POST', '/api/users', { name: 'Bob', email: 'bob@shop.test', roles: ['buyer'], address: { city: 'Oslo', zip: '0150' } }, B);
  await j('POST', '/api/users', { name: 'Cid', email: 'cid@shop.test', roles: [], address: { city: 'Rome' } }, B);
  await g('/api/users/me'); await g('/api/users/me');
  await j('PATCH', '/api/users/me', { name: 'Ann B' }, B); await j('PATCH', '/api/users/me', { locale: 'fr' }, B);
  for (const id of [17, 23, 1024]) await g('/api/users/' + id);
  await j('PUT', '/api/users/17', { name: 'Bob', active: true }, B); await j('PUT', '/api/users/23', { name: 'Cid', active: false }, B);
  await fetch('/api/users/31', { method: 'DELETE', headers: B }); await fetch('/api/users/32', { method: 'DELETE', headers: B });
  for (const id of [17, 23]) await g(`/api/users/${id}/orders?status=open`);
  await j('POST', '/api/users/17/orders', { items: [{ sku: 'tea-1', qty: 2 }], note: 'gift' }, B);
  await j('POST', '/api/users/23/orders', { items: [{ sku: 'mug-3', qty: 1 }] }, B);
  const o1 = '3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b', o2 = 'a9e1d7c0-5b3f-4c2a-9d8e-7f6a5b4c3d2e';
  await g(`/api/users/17/orders/${o1}`); await g(`/api/users/23/orders/${o2}`);
  await g(`/api/users/17/orders/${o1}/items`); await g(`/api/users/23/orders/${o2}/items`);
  await fetch(`/api/users/17/orders/${o1}/items/5`, { method: 'DELETE', headers: B });
  await fetch(`/api/users/23/orders/${o2}/items/8`, { method: 'DELETE', headers: B });
  await fetch('/api/products?category=tea&page=1'); await fetch('/api/products?category=mugs&page=2');
  await fetch('/api/products/featured'); await fetch('/api/products/featured');
  for (const id of [301, 302, 7]) await fetch('/api/products/' + id);
  await fetch('/api/products/301/reviews'); await fetch('/api/products/7/reviews?sort=new');
  await j('POST', '/api/products/301/reviews', { rating: 5, text: 'great' }, B);
  await j('POST', '/api/products/7/reviews', { rating: 2, text: 'meh', photos: ['a.jpg'] }, B);
  await fetch('/api/search?q=tea&from=2024-01-01'); await fetch('/api/search?q=green+tea');
  for (const [n, t] of [['a.txt', 'hello'], ['b.csv', 'x,y']]) {
    const fd = new FormData(); fd.append('title', 'doc ' + n); fd.append('folder', String(n.length));
    if (n === 'b.csv') fd.append('file', new Blob([t], { type: 'text/plain' }), n);
    await fetch('/api/uploads', { method: 'POST', headers: B, body: fd });
  }
  await g('/api/files/5d41402abc4b2a76b9719d911017c592'); await g('/api/files/7d793037a0760186574b0282f2f435e7');
  await g('/api/reports/2024-01-31'); await g('/api/reports/2024-02-29');
  await g('/api/settings'); await g('/api/settings');
  await fetch('/api/settings'); // cookie only
  await j('PUT', '/api/settings', { theme: 'dark', notifications: { email: true } }, B);
  await j('PUT', '/api/settings', { theme: 'light' }, {});
  await fetch('/api/contact', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=Ann&email=ann%40shop.test&message=hi' });
  await fetch('/api/contact', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=Bob&email=bob%40shop.test&message=yo' });
  await g('/api/tokens/tk_9f8e7d6c5b4a'); await g('/api/tokens/tk_1a2b3c4d5e6f');
  // Without any credentials: refused.
  await fetch('/api/users/17', { credentials: 'omit' });
});
await page.evaluate(() => fetch('/logout', { method: 'POST' }));
await context.close();
await browser.close();
server.close();
const v = await validateFile(OUT);
console.log(OUT, v.ok ? `valid (${v.entries} entries)` : v.errors);
if (!v.ok) process.exit(1);
