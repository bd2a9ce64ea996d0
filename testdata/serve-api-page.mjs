// Opens the API page of `hark serve` (GET /) in real headless Chromium (Debian's
// /usr/bin/chromium through playwright-core) and checks that it renders: a section per
// tag, an operation with a curl example for every operation of /v1/openapi.json, its
// stylesheet applied, and nothing refused by the Content-Security-Policy or failing.
//
//   node testdata/serve-api-page.mjs BASE_URL [TOKEN]
//
// With TOKEN the page is opened with Basic credentials (any user, the token as password),
// as a person does when the browser asks. Prints one line of JSON with what it saw.
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, LOOPBACK_ONLY, checker } from './chromium.mjs';

const [BASE, TOKEN] = process.argv.slice(2);
if (!BASE) {
  console.error('usage: node serve-api-page.mjs BASE_URL [TOKEN]');
  process.exit(2);
}
const ok = checker();
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, LOOPBACK_ONLY] });
try {
  const context = await browser.newContext({
    viewport: { width: 1300, height: 850 },
    ...(TOKEN ? { httpCredentials: { username: 'someone', password: TOKEN } } : {}),
  });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.url()}: ${r.status()}`); });
  page.on('requestfailed', (r) => problems.push(`${r.url()}: ${r.failure()?.errorText}`));
  const resp = await page.goto(`${BASE}/`);
  ok(resp.status() === 200, `GET / answers 200 (got ${resp.status()})`);
  ok((resp.headers()['content-type'] || '').startsWith('text/html'), 'as HTML');
  ok((resp.headers()['content-security-policy'] || '').includes("script-src 'self'"), "under the viewer's CSP");
  const auth = TOKEN ? { Authorization: 'Basic ' + Buffer.from(`someone:${TOKEN}`).toString('base64') } : {};
  const doc = await (await context.request.get(`${BASE}/v1/openapi.json`, { headers: auth })).json();
  const want = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const m of ['get', 'post', 'put', 'patch', 'delete']) if (item[m]) want.push({ id: item[m].operationId, method: m.toUpperCase(), path });
  }
  const seen = await page.$$eval('article.op', (as) => as.map((a) => ({
    id: a.id,
    method: a.querySelector('.method').textContent,
    path: a.querySelector('.path').textContent,
    curl: a.querySelector('pre.curl').textContent,
    visible: a.getBoundingClientRect().height > 0,
  })));
  ok(seen.length === want.length, `an operation per operation of the document (${seen.length} of ${want.length})`);
  for (const w of want) {
    const s = seen.find((x) => x.id === w.id);
    ok(s && s.method === w.method && s.path === w.path, `${w.method} ${w.path} shown`);
    ok(s.curl.startsWith('curl ') && s.curl.includes(w.path.replace('{id}', '$JOB').replace('{port}', '$PORT')), `${w.id}: a curl example`);
    ok(s.visible, `${w.id}: visible`);
  }
  if (TOKEN) ok(seen.every((s) => s.curl.includes('-u any:"$TOKEN"')), 'the examples send the token');
  const styled = await page.$eval('pre.curl', (p) => getComputedStyle(p).borderTopStyle);
  ok(styled === 'solid', `the embedded stylesheet applies (border ${styled})`);
  const scripts = await page.$$eval('script', (s) => s.length);
  ok(scripts === 0, 'no script at all');
  const sections = await page.$$eval('main section h2', (hs) => hs.map((h) => h.textContent));
  ok(sections.includes('jobs') && sections.includes('browsermob'), `sections by tag (${sections})`);
  ok(problems.length === 0, `nothing failed or refused: ${JSON.stringify(problems)}`);
  console.log(JSON.stringify({ operations: seen.length, sections, checks: ok.count() }));
} finally {
  await browser.close();
}
