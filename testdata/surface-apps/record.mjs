#!/usr/bin/env node
// Records testdata/surface-apps/har/{rest,graphql,ssr}.chromium.har (kept out of
// testdata/har, whose files the check/diagnose truth table and sanitizer tests cover): real Chromium
// (playwright-core) using each app of this directory as a person and its front end
// would (pages, forms, fetch() with varying ids), two or more times per endpoint.
//
//   cd testdata && node surface-apps/record.mjs [rest|graphql|ssr]…
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, LOOPBACK_ONLY } from '../chromium.mjs';
import { validateFile } from '../validate.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

const SCENARIOS = {
  async rest(page, base) {
    await page.goto(base + '/');
    await page.evaluate(async () => {
      const tok = await (await fetch('/api/v2/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ann@acme.test', password: 'hunter2' }) })).json();
      await fetch('/api/v2/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'bob@acme.test', password: 'x' }) });
      const H = { authorization: 'Bearer ' + tok.access_token, 'content-type': 'application/json' };
      const call = (m, u, b) => fetch('/api/v2' + u, { method: m, headers: H, body: b && JSON.stringify(b) });
      const twice = async (m, u, b) => { await call(m, u, b); await call(m, u, b); };
      for (const r of ['me', 'settings', 'billing', 'audit-log', 'usage', 'plans', 'notifications', 'teams', 'projects', 'issues', 'articles', 'articles/trending', 'webhooks', 'api-keys', 'invoices', 'exports']) await twice('GET', '/' + r);
      await fetch('/api/v2/config'); await fetch('/api/v2/config?client=web');
      await fetch('/api/v2/status'); await fetch('/api/v2/status');
      await call('PATCH', '/me', { name: 'Ann' }); await call('PATCH', '/me', { locale: 'fr' });
      await call('PUT', '/settings', { theme: 'dark' }); await call('PUT', '/settings', { theme: 'light', digest: true });
      await twice('POST', '/notifications/read-all');
      await call('POST', '/teams', { name: 'Core' }); await call('POST', '/teams', { name: 'Web' });
      for (const t of ['core-team', 'web-platform', 'data-eng']) { await call('GET', '/teams/' + t); await call('GET', `/teams/${t}/members`); }
      await call('DELETE', '/teams/old-team'); await call('DELETE', '/teams/temp-squad');
      await call('POST', '/teams/core-team/members', { email: 'cid@acme.test' }); await call('POST', '/teams/web-platform/members', { email: 'dan@acme.test' });
      await call('POST', '/projects', { name: 'Hark' }); await call('POST', '/projects', { name: 'Tea' });
      for (const p of [12, 31]) { await call('GET', '/projects/' + p); await call('PATCH', '/projects/' + p, { archived: false }); }
      for (const k of ['OPS-3', 'WEB-117', 'DATA-42']) { await call('GET', '/issues/' + k); await call('GET', `/issues/${k}/comments`); }
      await call('PATCH', '/issues/OPS-3', { state: 'closed' }); await call('PATCH', '/issues/WEB-117', { state: 'open' });
      await call('POST', '/issues/OPS-3/comments', { text: 'done' }); await call('POST', '/issues/DATA-42/comments', { text: 'why?' });
      for (const s of ['why-rust', 'hello-world', 'ten-tips-for-tea']) { await call('GET', '/articles/' + s); await call('GET', `/articles/${s}/comments`); }
      await call('PUT', '/articles/why-rust', { title: 'Why Rust' }); await call('PUT', '/articles/hello-world', { title: 'Hello' });
      await call('POST', '/articles/why-rust/comments', { text: 'yes' }); await call('POST', '/articles/ten-tips-for-tea/comments', { text: 'no' });
      await call('GET', '/articles/why-rust/revisions/3'); await call('GET', '/articles/hello-world/revisions/1');
      await call('GET', '/commits/3f2b8c1'); await call('GET', '/commits/a9e1d7c');
      await call('POST', '/webhooks', { url: 'https://hooks.acme.test/a' }); await call('POST', '/webhooks', { url: 'https://hooks.acme.test/b' });
      await call('DELETE', '/webhooks/wh_9fK2xQ7p'); await call('DELETE', '/webhooks/wh_Z81mQa2c');
      await call('POST', '/api-keys', { label: 'ci' }); await call('POST', '/api-keys', { label: 'local' });
      await call('GET', '/invoices/1001'); await call('GET', '/invoices/1002');
      await call('POST', '/exports', { format: 'csv' }); await call('POST', '/exports', { format: 'json' });
      await call('GET', '/exports/3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b'); await call('GET', '/exports/a9e1d7c0-5b3f-4c2a-9d8e-7f6a5b4c3d2e');
      await call('GET', '/search?q=tea'); await call('GET', '/search?q=rust&type=article');
      await call('GET', '/users/' + encodeURIComponent('ann@acme.test')); await call('GET', '/users/' + encodeURIComponent('bob@acme.test'));
      await call('GET', '/reports/2024-01-31'); await call('GET', '/reports/2024-02-29');
      await fetch('/api/v2/me'); // without the token: refused
    });
  },

  async graphql(page, base) {
    await page.goto(base + '/');
    await page.evaluate(async () => {
      const H = { 'content-type': 'application/json', authorization: 'Bearer gql-7f3k2m9x4q' };
      const gql = (query, variables, operationName) => fetch('/graphql', { method: 'POST', headers: H, body: JSON.stringify({ query, variables, operationName }) });
      const rpc = (method, params, id) => fetch('/rpc', { method: 'POST', headers: H, body: JSON.stringify({ jsonrpc: '2.0', id, method, params }) });
      await fetch('/api/health'); await fetch('/api/health');
      await fetch('/api/session'); await fetch('/api/session');
      for (let i = 0; i < 2; i++) {
        await gql('query Me { me { id email } }', {}, 'Me');
        await gql('query Products($first: Int) { products(first: $first) { id name } }', { first: 10 + i }, 'Products');
        await gql('query Product($id: ID!) { product(id: $id) { id name price } }', { id: String(301 + i) }, 'Product');
        await gql('query Orders { orders { id total } }', {}, 'Orders');
        await gql('{ categories { id name } }');
        await gql('mutation AddToCart($sku: String!) { addToCart(sku: $sku, qty: 1) { count } }', { sku: 'tea-' + i }, 'AddToCart');
        await gql('mutation RemoveFromCart($sku: String!) { removeFromCart(sku: $sku) { count } }', { sku: 'tea-' + i }, 'RemoveFromCart');
        await gql('mutation UpdateProfile($name: String) { updateProfile(name: $name) { id } }', { name: 'Ann ' + i }, 'UpdateProfile');
        await rpc('user.get', [7 + i], i + 1);
        await rpc('cart.list', [], i + 10);
        await rpc('cart.add', { sku: 'mug-' + i, qty: 1 }, i + 20);
        await rpc('order.cancel', { order: 500 + i }, i + 40);
      }
      // Checkout without operationName: named by the document; a JSON-RPC batch.
      await gql('mutation Checkout { checkout { orderId } }');
      await gql('mutation Checkout($note: String) { checkout(note: $note) { orderId } }', { note: 'gift' });
      await fetch('/rpc', { method: 'POST', headers: H, body: JSON.stringify([{ jsonrpc: '2.0', id: 90, method: 'order.place', params: {} }, { jsonrpc: '2.0', id: 91, method: 'cart.list' }]) });
      await rpc('order.place', { note: 'x' }, 92);
    });
  },

  async ssr(page, base) {
    await page.goto(base + '/');
    for (const loc of ['en', 'fr', 'de']) {
      await page.goto(`${base}/${loc}`);
      await page.goto(`${base}/${loc}/products`);
    }
    for (const [loc, slug] of [['en', 'green-tea'], ['fr', 'earl-grey'], ['de', 'green-tea']]) await page.goto(`${base}/${loc}/products/${slug}`);
    // Forms, as a person fills them.
    for (const [loc, q] of [['en', 'tea'], ['fr', 'thé vert']]) {
      await page.goto(`${base}/${loc}`);
      await page.fill('form[action$=search] input[name=q]', q);
      await Promise.all([page.waitForURL('**/search?*'), page.click('form[action$=search] button')]);
    }
    for (const [loc, mail] of [['en', 'ann@shop.test'], ['de', 'bob@shop.test']]) {
      await page.goto(`${base}/${loc}`);
      await page.fill('form[action$=newsletter] input[name=email]', mail);
      await Promise.all([page.waitForURL('**/cart'), page.click('form[action$=newsletter] button')]);
    }
    for (const [loc, slug, qty] of [['en', 'green-tea', '2'], ['fr', 'earl-grey', '1']]) {
      await page.goto(`${base}/${loc}/products/${slug}`);
      await page.fill('input[name=sku]', slug); await page.fill('input[name=qty]', qty);
      await Promise.all([page.waitForURL('**/cart'), page.click('button')]);
    }
    await page.goto(`${base}/fr/account`); // not logged in: to the login form
    for (const loc of ['fr', 'en']) {
      await page.goto(`${base}/${loc}/login`);
      await page.fill('input[name=email]', 'ann@shop.test'); await page.fill('input[name=password]', 'hunter2');
      await Promise.all([page.waitForURL('**/account'), page.click('button')]);
    }
    for (const [loc, id] of [['en', 1042], ['de', 1043]]) await page.goto(`${base}/${loc}/orders/${id}`);
    await page.evaluate(async () => { await fetch('/api/cart-count'); await fetch('/api/cart-count'); });
  },
};

const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(SCENARIOS);
for (const name of names) {
  const { startServer } = await import(`./${name}/server.mjs`);
  const out = path.join(HERE, 'har', `${name}.chromium.har`);
  const server = await startServer(0);
  const base = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, LOOPBACK_ONLY] });
  const context = await browser.newContext({ recordHar: { path: out, content: 'embed', mode: 'full' } });
  const page = await context.newPage();
  await SCENARIOS[name](page, base);
  await context.close();
  await browser.close();
  server.close();
  const v = await validateFile(out);
  console.log(out, v.ok ? `valid (${v.entries} entries)` : v.errors);
  if (!v.ok) process.exit(1);
}
