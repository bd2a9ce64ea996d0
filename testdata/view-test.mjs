// Drives the hark viewer in real headless Chromium (Debian's /usr/bin/chromium through
// playwright-core) and checks what a user sees.
//
//   node testdata/view-test.mjs URL FILES_JSON [SCREENSHOT.png]
//
// URL is what `hark view --no-open --port 0 …` printed; FILES_JSON maps roles to file
// ids of that server: {"login":0,"failures":1,"hostile":2,"big":3,"websocket":4,"search":5,
// "bbc":6,"chrome":7,"flowA":8,"flowB":9,"hostileTwin":10}, with "bbcPath" (the BBC file),
// "summaryTypes" (hark summary's counts) and "diffLoginFlow" (what `hark diff` pairs between
// the login recording and flowA: {paired, onlyA, onlyB}), "flowAPath" and "flowBPath" (picked
// in Open file… to compare them).
// Exits non-zero with a message on the first failed check. Env: CHROMIUM.

import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { checker, viewerPage } from './chromium.mjs';

const [BASE, FILES_JSON, SHOT] = process.argv.slice(2);
if (!BASE || !FILES_JSON) {
  console.error('usage: node view-test.mjs URL FILES_JSON [SCREENSHOT.png]');
  process.exit(2);
}
const FILES = JSON.parse(FILES_JSON);
const origin = new URL(BASE).origin;

const ok = checker();

const { browser, context, page } = await viewerPage(chromium);

// Everything the page asks for, console errors, dialogs: the hostile HAR must cause none
// of the bad ones.
const requests = [];
const dialogs = [];
const pageErrors = [];
// The viewer's own requests (main frame), and those made inside preview frames: a
// preview may *try* (its sandbox and policy refuse before anything is sent: Chromium
// reports such a request, then its failure as blocked), never get an answer.
const previewTries = [];
const failedWhy = new Map();
const answered = [];
page.on('request', (r) => { if (r.frame() === page.mainFrame()) requests.push(r.url()); else previewTries.push(r.url()); });
page.on('requestfailed', (r) => failedWhy.set(r.url(), (r.failure() || {}).errorText || ''));
page.on('response', (r) => { if (r.frame() !== page.mainFrame() && !/\/entries\/\d+\/preview$/.test(new URL(r.url()).pathname)) answered.push(r.url()); });
page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
page.on('pageerror', (e) => pageErrors.push(e.message));

async function open(file, hash = '') {
  const url = `${BASE}#${new URLSearchParams({ ...(file ? { file: String(file) } : {}), ...hash })}`;
  await page.goto('about:blank');
  const resp = await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
  await page.waitForFunction(() => document.querySelector('#status-line').dataset.done === '1', null, { timeout: 60000 });
  return resp;
}

const visibleRows = () => page.$$eval('#rows .row[data-i]', (rs) => rs.map((r) => ({
  i: Number(r.dataset.i),
  status: r.querySelector('.c-status').textContent,
  method: r.querySelector('.c-method').textContent,
  path: r.querySelector('.c-path').textContent,
  type: r.querySelector('.c-type').textContent,
  time: r.querySelector('.c-time').textContent,
  cls: r.className,
})));

const matched = () => page.$eval('#status-line', (s) => Number(s.dataset.matched));

async function waitMatched(pred, what) {
  await page.waitForFunction(`(${pred.toString()})(Number(document.querySelector('#status-line').dataset.matched))`, null, { timeout: 10000 })
    .catch(() => { throw new Error('FAILED: ' + what); });
}

async function settle() {
  // The page marks itself settled once the table shows the latest query (after the
  // typing debounce and the rows request); then no row may still be loading.
  await page.waitForFunction(() => document.body.dataset.settled === '1' && !document.querySelector('#rows .row.loading'), null, { timeout: 20000 });
}

function msOf(text) {
  if (text === '–') return -1;
  const [v, u] = text.split(' ');
  return Number(v) * (u === 's' ? 1000 : u === 'min' ? 60000 : 1);
}

async function selectRow(pred, what) {
  const rows = await visibleRows();
  const r = rows.find(pred);
  ok(!!r, 'row to select: ' + what);
  await page.click(`#rows .row[data-i="${r.i}"]`);
  await page.waitForSelector('#details .d-body');
  return r;
}

async function tab(name) {
  await page.click(`#details .tab[data-tab="${name}"]`);
  await page.waitForSelector(`#details .d-body[data-tab="${name}"]`);
}

// Compare mode.
async function openCompare(a, b) {
  await page.goto('about:blank');
  await page.goto(`${BASE}#compare=${a},${b}`);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
  await cmpSettle();
}

async function cmpSettle() {
  await page.waitForFunction(() => { const c = document.querySelector('#compare'); return c && !c.hidden && c.dataset.settled === '1' && c.dataset.done === '1'; }, null, { timeout: 30000 });
}

const pairRows = () => page.$$eval('#cmp-rows tr.pair', (rs) => rs.map((r) => ({
  k: Number(r.dataset.k), state: r.dataset.state, a: r.dataset.a, b: r.dataset.b,
  key: r.querySelector('.c-key').textContent,
  aStatus: r.querySelector('.c-a-status').textContent, bStatus: r.querySelector('.c-b-status').textContent,
  aSize: r.querySelector('.c-a-size').textContent, bSize: r.querySelector('.c-b-size').textContent,
  aTime: r.querySelector('.c-a-time').textContent, bTime: r.querySelector('.c-b-time').textContent,
})));

async function showOnly(which) {
  await page.click(`#cmp-show-${which}`);
  await cmpSettle();
  return pairRows();
}

async function openPair(k) {
  await page.click(`#cmp-rows tr.pair[data-k="${k}"]`);
  await page.waitForSelector(`#cmp-details[data-k="${k}"]`);
}

/** The highlighted changes of the pair shown: [name, a, b, highlighted]. */
const changesOf = (sec) => page.$$eval(`#cmp-details #${sec} tr.change`, (rs) => rs.map((r) => [r.dataset.name,
  r.querySelector('td.a').textContent, r.querySelector('td.b').textContent,
  getComputedStyle(r.querySelector('td.b')).backgroundColor !== 'rgba(0, 0, 0, 0)' && r.classList.contains('diff')]));

const detailsText = () => page.$eval('#details .d-body', (d) => d.textContent);

try {
  // ---------------------------------------------------------------- login recording
  console.log('login recording (file ' + FILES.login + ')');
  const resp = await open(FILES.login);
  const csp = resp.headers()['content-security-policy'] || '';
  ok(csp.includes("script-src 'self'") && csp.includes("default-src 'none'") && csp.includes("frame-ancestors 'none'"), 'strict CSP header on the page: ' + csp);
  ok(resp.headers()['x-content-type-options'] === 'nosniff', 'nosniff header');
  ok(!(await page.isVisible('#catalog')) && !(await page.isVisible('#catalog-toggle')) && !(await page.isVisible('#reload')),
    'hark view alone has no jobs list');
  ok(await page.isVisible('#upload-label'), 'Open file… is offered');
  const total = await matched();
  ok(total === 37, `all 37 requests listed (got ${total})`);
  let rows = await visibleRows();
  ok(rows.length > 20 && rows[0].path === '/', `table rows appear, first is the document (${rows.length} rows)`);
  ok((await page.$eval('#sum-requests b', (b) => b.textContent)) === '37', 'summary bar: 37 requests');
  ok(await page.$('#sum-dcl') && await page.$('#sum-load'), 'summary bar: DOMContentLoaded and load');
  ok((await page.$$('#rows .row .marker.load')).length > 0, 'waterfall has load markers');
  ok((await page.$$('#rows .row .c-wf .wbar .seg.wait')).length > 0, 'waterfall bars split into timing phases');

  // Sort by time (descending on first click), then ascending.
  await page.click('#thead .cell[data-sort="time"]');
  await settle();
  rows = await visibleRows();
  const times = rows.map((r) => msOf(r.time));
  ok(times.every((t, k) => k === 0 || times[k - 1] >= t), 'sorted by time, slowest first: ' + times.slice(0, 5).join(', '));
  ok(page.url().includes('sort=time') && page.url().includes('desc=1'), 'sort in the URL');
  await page.click('#thead .cell[data-sort="time"]');
  await settle();
  rows = await visibleRows();
  const asc = rows.map((r) => msOf(r.time));
  ok(asc.every((t, k) => k === 0 || asc[k - 1] <= t), 'sorted by time, fastest first');
  await page.click('#thead .cell[data-sort="status"]');
  await settle();
  rows = await visibleRows();
  const sts = rows.map((r) => Number(r.status));
  ok(rows[0].status === '200' && sts.every((x, k) => k === 0 || sts[k - 1] <= x), 'sorted by status');
  await page.click('#thead .cell[data-sort="start"]');
  await settle();

  // Text filter, in the URL, survives a reload.
  await page.fill('#q', 'OAUTH');
  await settle();
  rows = await visibleRows();
  ok(rows.length === 4 && rows.every((r) => r.path.toLowerCase().includes('oauth')), `text filter: ${rows.map((r) => r.path).join(' ')}`);
  ok(page.url().includes('q=OAUTH'), 'text filter in the URL');
  await page.reload();
  await page.waitForSelector('body[data-ready="1"]');
  await settle();
  ok((await page.inputValue('#q')) === 'OAUTH' && (await visibleRows()).length === 4, 'text filter survives a reload');

  // Regex.
  await page.fill('#q', '\\.(png|css)$');
  await page.check('#regex');
  await settle();
  rows = await visibleRows();
  ok(rows.length === 10 && rows.every((r) => /\.(png|css)$/.test(r.path)), `regex filter: ${rows.length} rows`);
  ok(page.url().includes('regex=1'), 'regex in the URL');
  await page.fill('#q', '([');
  await settle();
  ok(await page.$eval('#q', (e) => e.classList.contains('invalid')) && (await page.textContent('#notice')).includes('regex'), 'a bad regex is flagged, not applied');
  await page.click('#clear');
  await settle();
  ok((await matched()) === 37 && !page.url().includes('q='), 'clear resets the filters');

  // Status class and type.
  await page.click('#status-3xx');
  await settle();
  rows = await visibleRows();
  ok(rows.length === 2 && rows.every((r) => r.status.startsWith('3')), 'status class 3xx');
  ok(page.url().includes('status=3xx'), 'status class in the URL');
  await page.click('#status-3xx');
  await page.click('#type-xhr');
  await settle();
  rows = await visibleRows();
  ok(rows.length === FILES.summaryTypes.fetch && rows.every((r) => r.type === 'fetch'), `type Fetch/XHR: named fetch, as hark summary does (${FILES.summaryTypes.fetch})`);
  await page.reload();
  await page.waitForSelector('body[data-ready="1"]');
  await settle();
  ok((await visibleRows()).length === 7 && await page.$eval('#type-xhr', (b) => b.classList.contains('on')), 'type filter survives a reload');
  await page.selectOption('#method', 'POST');
  await settle();
  rows = await visibleRows();
  ok(rows.length === 2 && rows.every((r) => r.method === 'POST'), 'type and method filters combine');
  await page.click('#clear');
  await settle();

  // Details of the token exchange.
  await page.fill('#q', '/oauth/token');
  await settle();
  await selectRow((r) => r.path === '/oauth/token', '/oauth/token');
  ok(page.url().includes('sel='), 'selection in the URL');
  let text = await detailsText();
  ok(text.includes('Request URL') && text.includes('/oauth/token') && text.includes('Content-Type'), 'headers tab');
  await page.click('#details .raw-toggle');
  ok((await page.$eval('#details pre.raw-headers', (p) => p.textContent)).startsWith('HTTP/1.1 200'), 'raw response headers');
  await tab('payload');
  text = await detailsText();
  ok(text.includes('grant_type') && text.includes('authorization_code'), 'payload tab: form parameters');
  await tab('response');
  ok(await page.$('#details .json .jk'), 'response tab: JSON as a tree');
  const before = await page.$$eval('#details .json .jl', (l) => l.length);
  await page.click('#details .json .jt');
  const after = await page.$$eval('#details .json .jl', (l) => l.filter((x) => x.offsetParent !== null).length);
  ok(after < before, 'the JSON tree collapses');
  await tab('timing');
  ok((await page.$$('#details table.timing tr')).length === 8, 'timing tab: seven phases and the total');
  await tab('jwt');
  text = await detailsText();
  ok(text.includes('Claims') && text.includes('"sub"') && text.includes('alg'), 'JWT tab: header and claims decoded');
  await page.click('#copy-curl');
  const curl = await page.textContent('#curl-out');
  ok(curl.startsWith("curl ") && curl.includes('/oauth/token') && curl.includes('--data-raw'), 'copy as curl: ' + curl.slice(0, 60));
  await page.reload();
  await page.waitForSelector('#details .d-body');
  ok((await page.textContent('#details .d-url')).includes('/oauth/token'), 'selected request survives a reload');

  // Cookies set by the login.
  await page.fill('#q', '/login');
  await page.selectOption('#method', 'POST');
  await settle();
  await selectRow((r) => r.method === 'POST', 'POST /login');
  await tab('cookies');
  text = await detailsText();
  ok(text.includes('Response cookies') && text.includes('sid') && text.includes('HttpOnly'), 'cookies tab: set cookies with attributes');
  await page.click('#clear');
  await settle();

  // An image shows; the HTML document is shown as source.
  await selectRow((r) => r.path === '/static/logo.png', 'logo.png');
  await tab('response');
  const imgFrame = await page.waitForSelector('#details iframe.preview-frame.image');
  ok((await imgFrame.getAttribute('sandbox')) === '' && !(await page.$('#details img')), 'the image is previewed in a sandboxed frame (no scripts, opaque origin), not on the page');
  const imgDoc = await imgFrame.contentFrame();
  await imgDoc.waitForSelector('img');
  await imgDoc.waitForFunction(() => { const i = document.querySelector('img'); return i.complete && i.naturalWidth > 0; }, null, { timeout: 5000 });
  ok((await imgDoc.evaluate(() => self.origin)) === 'null', 'the preview runs in an opaque origin');
  ok(true, 'image response shown as an image');
  await selectRow((r) => r.path === '/', 'the document');
  await tab('response');
  const src = await page.$eval('#details pre.source', (p) => ({ kind: p.dataset.kind, text: p.textContent, spans: p.querySelectorAll('span.t').length }));
  ok(src.kind === 'html' && /<html|<!doctype/i.test(src.text) && src.spans > 3, 'HTML shown as highlighted source');
  ok((await page.$$('#details iframe, #details object, #details embed')).length === 0, 'HTML not rendered until asked');
  await page.click('#preview-html');
  const htmlFrame = await page.waitForSelector('#details iframe.preview-frame.html');
  ok((await htmlFrame.getAttribute('sandbox')) === '', 'HTML previewed in a sandboxed frame');
  const htmlDoc = await htmlFrame.contentFrame();
  await htmlDoc.waitForLoadState();
  ok((await htmlDoc.evaluate(() => document.body.textContent.length)) > 0 && (await htmlDoc.evaluate(() => self.origin)) === 'null', 'the HTML is rendered there, in an opaque origin');
  await page.keyboard.press('Escape');


  // ---------------------------------------------------------------- failures
  console.log('failures recording (file ' + FILES.failures + ')');
  await open(FILES.failures);
  const errors = await page.$eval('#summary', () => null);
  const sum = await (await fetch(`${BASE}api/files/${FILES.failures}/summary`)).json();
  await page.check('#errors');
  await settle();
  ok((await matched()) === sum.errors && sum.errors > 0, `only errors: ${sum.errors} rows`);
  rows = await visibleRows();
  ok(rows.length > 0 && rows.every((r) => r.cls.includes('error')), 'every row shown is highlighted as an error');
  ok(rows.some((r) => r.status === '(failed)' || r.status === '(blocked)') && rows.some((r) => Number(r.status) >= 500), 'failed and 5xx requests among them');
  await page.reload();
  await page.waitForSelector('body[data-ready="1"]');
  await settle();
  ok((await matched()) === sum.errors && await page.isChecked('#errors'), 'only errors survives a reload');
  await page.uncheck('#errors');
  await page.check('#group');
  await settle();
  ok((await page.$$('#rows .row.page-header')).length >= 1, 'grouped by page');
  await page.uncheck('#group');
  void errors;
  if (SHOT) {
    await open(FILES.failures);
    await page.$eval('#scroller', (s) => { s.scrollTop = 22 * 4; });
    await settle();
    await selectRow((r) => Number(r.status) >= 500, 'a 5xx for the screenshot');
    await tab('timing');
    await page.screenshot({ path: SHOT });
    console.log('  screenshot ' + SHOT);
  }

  // ---------------------------------------------------------------- findings
  console.log('findings of the failures recording (file ' + FILES.failures + ')');
  await open(FILES.failures, { findings: '1' });
  await page.waitForSelector('#findings[data-state="done"]', { timeout: 30000 });
  const report = await (await fetch(`${BASE}api/files/${FILES.failures}/findings`)).json();
  const byCode = (c) => report.findings.findIndex((f) => f.code === c);
  ok(report.state === 'done' && byCode('server-error') >= 0 && byCode('redirect-loop') >= 0 && byCode('oauth-state-mismatch') >= 0,
    'diagnose findings listed: ' + report.findings.map((f) => f.code).join(' '));
  ok(report.findings.some((f) => f.from === 'check'), 'check\'s lint findings listed too');
  ok((await page.$$('#findings-list .finding')).length === report.findings.length, 'one panel entry per finding');
  const panelText = await page.textContent('#findings-list');
  const boom = report.findings[byCode('server-error')];
  ok(panelText.includes(boom.title) && panelText.includes(boom.advice) && panelText.includes('error'), 'severity, title and advice shown');
  await page.click('#findings-list .finding[data-code="server-error"]');
  await settle();
  rows = await visibleRows();
  ok(rows.length === 1 && rows[0].i === boom.entries[0] && rows[0].status === '500', 'the 500 finding selects its row: ' + JSON.stringify(rows.map((r) => [r.i, r.status])));
  await page.waitForSelector('#details .d-body');
  ok((await page.textContent('#details .d-url')).includes('/boom'), 'and shows it in the details');
  ok(page.url().includes('finding=' + byCode('server-error')), 'the chosen finding is in the URL');
  await page.click('#findings-list .finding[data-code="redirect-loop"]');
  await settle();
  rows = await visibleRows();
  const loop = report.findings[byCode('redirect-loop')];
  ok(rows.length === loop.entries.length && rows.every((r) => loop.entries.includes(r.i)) && rows.filter((r) => r.status === '302').length === rows.length - 1,
    `the redirect loop selects its ${loop.entries.length} requests, its redirects and the one that broke it (${rows.map((r) => r.status).join(' ')})`);
  await page.click('#only-clear');
  await settle();
  ok((await matched()) === sum.requests, 'Show all requests');
  const markTitle = await page.$eval(`#rows .row[data-i="${boom.entries[0]}"] .mark`, (m) => m.title).catch(() => '');
  ok(markTitle.includes(boom.title), 'the row carries a marker with the finding\'s title: ' + markTitle);
  ok(!(await page.$(`#rows .row[data-i="0"] .mark`)) || report.findings.some((f) => f.entries.includes(0)), 'rows without findings carry no marker');
  const flowK = report.flows.findIndex((f) => f.steps.some((s) => s.kind === 'token'));
  ok(flowK >= 0, 'a sign-in flow with a token step');
  const tokenStep = report.flows[flowK].steps.find((s) => s.kind === 'token');
  await page.click(`#flows .flow[data-k="${flowK}"] li.step[data-kind="token"]`);
  await settle();
  await page.waitForFunction((i) => document.querySelector('#details .d-url') && location.hash.includes('sel=' + i), tokenStep.index);
  rows = await visibleRows();
  const stepIds = report.flows[flowK].steps.map((s) => s.index);
  ok(rows.length === new Set(stepIds).size && rows.every((r) => stepIds.includes(r.i)), 'the flow\'s steps are its rows');
  ok((await page.textContent('#details .d-url')).includes('/token'), 'a step selects its entry');
  await page.click('#only-clear');

  // ---------------------------------------------------------------- search everything
  console.log('search (file ' + FILES.search + ')');
  const searchFor = async (text, regex = false) => {
    await open(FILES.search, { search: text, ...(regex ? { search_regex: '1' } : {}) });
    await page.waitForSelector('#search-count[data-done="1"]', { timeout: 20000 });
    await settle();
    return visibleRows();
  };
  rows = await searchFor('zebra-body-token');
  ok(rows.length === 1 && rows[0].path === '/api/orders', 'a text only in one response body finds that request alone: ' + rows.map((r) => r.path));
  ok((await page.$eval('#search-count', (c) => c.dataset.count)) === '1' && (await page.inputValue('#search')) === 'zebra-body-token', 'count shown, search field from the URL');
  await page.click(`#rows .row[data-i="${rows[0].i}"]`);
  await page.waitForSelector('#details .d-body[data-tab="response"] mark.hit');
  ok((await page.$eval('#details mark.hit', (m) => m.textContent)) === 'zebra-body-token', 'the match is highlighted in the response');
  rows = await searchFor('HEADER-only-token-42');
  ok(rows.length === 1 && rows[0].path === '/api/profile', 'a text only in one request header finds that request alone: ' + rows.map((r) => r.path));
  await page.click(`#rows .row[data-i="${rows[0].i}"]`);
  await page.waitForSelector('#details .d-body[data-tab="headers"] mark.hit');
  ok((await page.textContent('#details .found')).includes('request header'), 'the details say where it matched');
  rows = await searchFor('gz-body-token');
  ok(rows.length === 1 && rows[0].path === '/api/blob', 'a gzip body in base64 is searched decoded');
  rows = await searchFor('user');
  ok(rows.length === 1 && rows[0].path === '/api/login', 'form parameters are searched');
  rows = await searchFor('zebra-(body|head)-tok.n', true);
  ok(rows.length === 1 && rows[0].path === '/api/orders', 'a regex search');
  rows = await searchFor('no-such-text-anywhere');
  ok(rows.length === 0 && (await matched()) === 0, 'a text found nowhere: no rows');
  await page.fill('#search', '');
  await settle();
  ok((await matched()) === 6 && !page.url().includes('search='), 'clearing the search shows all requests');

  // ---------------------------------------------------------------- timeline
  console.log('timeline (BBC, file ' + FILES.bbc + ')');
  await open(FILES.bbc);
  await page.waitForFunction(() => Number(document.querySelector('#overview').dataset.bins) > 0);
  const bbc = JSON.parse(readFileSync(FILES.bbcPath, 'utf8'));
  const spans = bbc.log.entries.map((e) => [Date.parse(e.startedDateTime), Math.max(e.time, 0)]);
  const t0 = Math.min(...spans.map((x) => x[0]));
  ok((await page.$$('#ov-bars .ob')).length > 10, 'the overview strip has its bars');
  const loads = bbc.log.pages.filter((p) => p.pageTimings.onLoad > 0).length;
  ok((await page.$$('#ov-marks .marker.load')).length === loads, `a load line per page in the overview (${loads})`);
  const lastTick = () => page.$eval('#thead .tick.last', (t) => t.textContent);
  const whole = await lastTick();
  const urlCount = new Map();
  for (const e of bbc.log.entries) urlCount.set(e.request.url, (urlCount.get(e.request.url) || 0) + 1);
  const lone = bbc.log.entries.find((e) => urlCount.get(e.request.url) === 1 && e.time > 100 && !bbc.log.entries.some((o) => o !== e && o.request.url.includes(e.request.url)));
  await page.fill('#q', lone.request.url);
  await settle();
  const barWidth = () => page.$eval('#rows .row[data-i] .wbar', (b) => parseFloat(b.style.width));
  ok((await matched()) === 1 && (await lastTick()) === whole && (await barWidth()) < 20,
    `filtering keeps the whole capture's time axis (${whole}; the one bar ${(await barWidth()).toFixed(1)}% wide)`);
  await page.check('#fit');
  await settle();
  ok((await barWidth()) > 95 && page.url().includes('fit=1'), `Fit scales the waterfall to the rows shown (the bar ${(await barWidth()).toFixed(1)}% wide)`);
  await page.click('#clear');
  await settle();
  const box = await page.$eval('#overview', (e) => { const r = e.getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height }; });
  await page.mouse.move(box.x + 2, box.y + box.h / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.w * 0.04, box.y + box.h / 2, { steps: 5 });
  await page.mouse.up();
  await settle();
  const rg = /range=(\d+)-(\d+)/.exec(decodeURIComponent(page.url()));
  ok(!!rg, 'the brushed range is in the URL: ' + page.url().split('#')[1]);
  const [ra, rb] = [Number(rg[1]), Number(rg[2])];
  const inRange = spans.filter(([s, t]) => s - t0 <= rb && s + t - t0 >= ra).length;
  const zoomed = await matched();
  ok(zoomed === inRange && inRange > 0 && inRange < spans.length, `brush zoom: the ${inRange} requests running in ${ra}-${rb} ms (shown ${zoomed} of ${spans.length})`);
  ok(await page.isVisible('#ov-brush'), 'the brush is drawn');
  const zoomTick = await lastTick();
  ok(msOf(zoomTick) <= rb + 1 && msOf(zoomTick) >= rb * 0.9 - 1, `the waterfall's axis is the range (ends at ${zoomTick})`);
  await page.reload();
  await page.waitForSelector('body[data-ready="1"]');
  await settle();
  ok((await matched()) === zoomed, 'the range survives a reload');
  await page.dblclick('#overview');
  await settle();
  ok((await matched()) === spans.length && !page.url().includes('range='), 'double-click shows the whole capture again');

  console.log('initiator and priority (file ' + FILES.chrome + ')');
  await open(FILES.chrome);
  const cells = await page.$$eval('#rows .row[data-i]', (rs) => rs.map((r) => [r.querySelector('.c-initiator').textContent, r.querySelector('.c-priority').textContent, r.querySelector('.c-type').textContent]));
  ok(JSON.stringify(cells) === JSON.stringify([['other', 'VeryHigh', 'document'], ['other', 'VeryHigh', 'document'], ['www.google.com:114', 'High', 'image']]),
    'Initiator, Priority and Type columns: ' + JSON.stringify(cells));
  await page.click('#rows .row[data-i="2"]');
  await page.waitForSelector('#details .d-body');
  text = await detailsText();
  ok(text.includes('parser · https://www.google.com/:114') && text.includes('High'), 'initiator and priority in the details');

  // ---------------------------------------------------------------- WebSocket
  console.log('websocket (file ' + FILES.websocket + ')');
  await open(FILES.websocket);
  await selectRow((r) => true, 'first request');
  await tab('websocket');
  ok((await page.$$('#details table.ws tr')).length > 1, 'WebSocket messages listed');

  // ---------------------------------------------------------------- 200k rows
  console.log('200k entries (file ' + FILES.big + ')');
  await open(FILES.big);
  const big = await matched();
  ok(big === 200000, `200000 requests listed (got ${big})`);
  let dom = await page.$$eval('#rows .row', (r) => r.length);
  ok(dom < 120, `virtual scrolling: ${dom} rows in the DOM`);
  await page.$eval('#scroller', (s) => { s.scrollTop = 22 * 150000; });
  await page.waitForFunction(() => [...document.querySelectorAll('#rows .row[data-i]')].some((r) => Number(r.dataset.i) >= 150000 && Number(r.dataset.i) < 150100), null, { timeout: 10000 });
  dom = await page.$$eval('#rows .row', (r) => r.length);
  ok(dom < 120, `scrolled to row 150000 with ${dom} rows in the DOM`);
  await page.fill('#q', 'item/1999');
  await settle();
  ok((await matched()) === 111, 'filter over 200k entries: ' + (await page.textContent('#status-line')));
  await page.fill('#q', '');
  await page.check('#errors');
  await settle();
  ok((await matched()) === 20000, 'only errors over 200k entries');

  // ---------------------------------------------------------------- compare
  console.log(`compare: two recordings of the flow (files ${FILES.flowA} and ${FILES.flowB}), one response changed`);
  // Two files picked in Open file…: both uploaded, then compared.
  await open(FILES.login);
  await page.setInputFiles('#upload', [FILES.flowAPath, FILES.flowBPath]);
  await cmpSettle();
  ok((await page.$eval('#cmp-a', (e) => e.textContent)) === 'flow.hark-record.har' && (await page.$eval('#cmp-b', (e) => e.textContent)) === 'flow-changed.hark-record.har',
    'two files picked in Open file… are uploaded and compared, A and B in the order picked');
  const picked = await pairRows();
  ok(picked.length === 8 && picked.filter((p) => p.state === 'changed').map((p) => p.key).join() === 'GET /api/me', `the picked pair: 8 rows, GET /api/me changed (${picked.length})`);
  await open(FILES.flowA);
  ok(await page.isVisible('#compare-with'), 'Compare with… is offered');
  await page.selectOption('#compare-with', String(FILES.flowB));
  await cmpSettle();
  ok(await page.isVisible('#compare') && !(await page.isVisible('#main')), 'picking a second file shows the compare view instead of the table');
  ok(new URLSearchParams(new URL(page.url()).hash.slice(1)).get('compare') === `${FILES.flowA},${FILES.flowB}`, 'the comparison is in the URL: ' + page.url());
  let pairs = await pairRows();
  const keys = pairs.map((p) => p.key).sort();
  const want = ['GET /', 'GET /api/health', 'GET /api/items', 'GET /api/items', 'GET /api/me', 'GET /favicon.ico', 'POST /api/login', 'POST /api/orders'];
  ok(JSON.stringify(keys) === JSON.stringify(want), 'every request paired by method + templated path: ' + keys.join(', '));
  ok(pairs.every((p) => p.a !== '' && p.b !== ''), 'every row has a request of each file');
  const items = pairs.filter((p) => p.key === 'GET /api/items');
  ok(items.length === 2 && items[0].a < items[1].a && items[0].b < items[1].b, 'the two /api/items calls paired in order of occurrence (cache-busters templated away)');
  const changed = pairs.filter((p) => p.state === 'changed');
  ok(changed.length === 1 && changed[0].key === 'GET /api/me', 'exactly one pair changed, GET /api/me: ' + changed.map((p) => p.key).join(', '));
  ok(pairs.filter((p) => p.state === 'same').length === 7, 'the other 7 are the same (their ids, timestamps, tokens vary)');
  const me = changed[0];
  ok(me.aStatus === '200' && me.bStatus === '200' && /\d B$/.test(me.aSize) && /\d B$/.test(me.bSize) && /ms$/.test(me.aTime) && /ms$/.test(me.bTime),
    `status, size and time side by side: ${me.aStatus}/${me.bStatus} ${me.aSize}/${me.bSize} ${me.aTime}/${me.bTime}`);
  await openPair(me.k);
  const hdrs = await changesOf('cmp-headers');
  ok(hdrs.length === 1 && hdrs[0][0] === 'cache-control' && hdrs[0][1] === 'no-store' && hdrs[0][2] === 'private, max-age=60' && hdrs[0][3],
    'the changed header is highlighted, A beside B: ' + JSON.stringify(hdrs));
  const fields = await changesOf('cmp-fields');
  ok(fields.length === 1 && fields[0][0] === '$.plan' && fields[0][1] === '"free"' && fields[0][2] === '"pro"' && fields[0][3],
    'the changed JSON field is highlighted, A beside B: ' + JSON.stringify(fields));
  ok(/\$\.lastLogin/.test(await page.$eval('#cmp-details', (d) => d.textContent)), 'values that vary (timestamps, ids, tokens) are named, not marked changed');
  ok((await page.$$eval('#cmp-details table.side tr.diff', (rs) => rs.map((r) => r.className))).every((c) => !/f-status|f-url/.test(c)), 'status and URL not marked as differing');
  ok(new URLSearchParams(new URL(page.url()).hash.slice(1)).get('pair') === String(me.k), 'the pair selected is in the URL');
  pairs = await showOnly('changed');
  ok(pairs.length === 1 && pairs[0].key === 'GET /api/me' && page.url().includes('show=changed'), 'Only changed: GET /api/me');
  pairs = await showOnly('a');
  ok(pairs.length === 0, 'Only in A: nothing (same flow)');
  pairs = await showOnly('b');
  ok(pairs.length === 0, 'Only in B: nothing (same flow)');
  pairs = await showOnly('all');
  ok(pairs.length === 8, 'All: the 8 pairs again');
  await openPair(me.k);
  await page.click('#cmp-open-b');
  await page.waitForSelector('#details .d-body');
  await settle();
  ok(!(await page.isVisible('#compare')) && (await page.$eval('#file', (s) => s.value)) === String(FILES.flowB) && page.url().includes(`sel=${me.b}`)
    && /\/api\/me$/.test(await page.$eval('#details .d-url', (d) => d.textContent)), `Open B's request: its file, the entry selected, its details (${page.url()})`);

  // The same pairing as `hark diff`, on two different recordings (things only in A, in B).
  await openCompare(FILES.login, FILES.flowA);
  const want2 = FILES.diffLoginFlow;
  const counts = await page.$$eval('#cmp-show button', (bs) => Object.fromEntries(bs.map((b) => [b.dataset.show, Number(b.dataset.count)])));
  ok(counts.a === want2.onlyA && counts.b === want2.onlyB && counts.all === want2.paired + want2.onlyA + want2.onlyB,
    `paired as hark diff pairs them (${want2.paired} pairs, ${want2.onlyA} only in A, ${want2.onlyB} only in B): ${JSON.stringify(counts)}`);
  const onlyA = await showOnly('a');
  ok(onlyA.length === want2.onlyA && onlyA.every((p) => p.state === 'onlyA' && p.a !== '' && p.b === '' && p.bStatus === ''), `Only in A: ${onlyA.length} rows, none with a B side`);
  const onlyB = await showOnly('b');
  ok(onlyB.length === want2.onlyB && onlyB.every((p) => p.state === 'onlyB' && p.b !== '' && p.a === '' && p.aStatus === ''), `Only in B: ${onlyB.length} rows, none with an A side`);
  const ch = await showOnly('changed');
  ok(ch.length === counts.changed && ch.every((p) => p.state === 'changed' && p.a !== '' && p.b !== ''), `Only changed: ${ch.length} rows, all paired`);
  await page.click('#cmp-exit');
  await settle();
  ok(!(await page.isVisible('#compare')) && await page.isVisible('#main') && !page.url().includes('compare='), 'Close compare shows one file again');

  // ---------------------------------------------------------------- hostile
  console.log('hostile HAR (file ' + FILES.hostile + ')');
  await open(FILES.hostile);
  const hostileRows = await visibleRows();
  let previews = 0;
  ok(hostileRows.length >= 8, `hostile entries listed (${hostileRows.length})`);
  for (const r of hostileRows) {
    await page.click(`#rows .row[data-i="${r.i}"]`);
    await page.waitForSelector('#details .d-body');
    for (const t of ['headers', 'payload', 'response', 'cookies', 'timing', 'raw']) {
      await tab(t);
      if (t === 'response' && await page.$('#preview-html')) {
        await page.click('#preview-html');
        const fr = await (await page.waitForSelector('#details iframe.preview-frame.html')).contentFrame();
        await fr.waitForLoadState().catch(() => {});
        previews++;
      }
      if (t === 'response') previews += (await page.$$('#details iframe.preview-frame:not(.html)')).length;
      if (t === 'raw') await page.waitForFunction(() => !document.querySelector('#details pre.raw') || document.querySelector('#details pre.raw').textContent !== 'Loading…');
      const wide = await page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
      ok(wide <= 0, `entry ${r.i} ${t}: nothing breaks the layout (overflow ${wide}px)`);
    }
    if (await page.$('#details .tab[data-tab="websocket"]')) await tab('websocket');
    if (await page.$('#details .tab[data-tab="jwt"]')) await tab('jwt');
    await page.click('#copy-curl');
  }
  ok(previews >= 2, `hostile HTML and images previewed (${previews} frames)`);
  await page.check('#group');
  await settle();
  await page.uncheck('#group');
  // The compare view over the hostile HAR and its twin: every pair opened.
  await openCompare(FILES.hostile, FILES.hostileTwin);
  const hp = await pairRows();
  ok(hp.some((p) => p.state === 'changed') && hp.some((p) => p.state === 'onlyA') && hp.some((p) => p.state === 'onlyB'),
    `hostile compare: pairs changed, only in A and only in B (${hp.map((p) => p.state).join(' ')})`);
  for (const p of hp) {
    await openPair(p.k);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
    ok(wide <= 0, `pair ${p.k}: nothing breaks the layout (overflow ${wide}px)`);
  }
  await openPair(hp.find((p) => p.state === 'changed').k);
  const shownHeaders = await page.$eval('#cmp-details', (d) => d.textContent);
  ok(shownHeaders.includes('<svg onload='), 'hostile header names and values shown as text');
  ok(await page.$$eval('#compare script, #compare img, #compare svg, #compare iframe', (x) => x.length) === 0, 'no element made from HAR strings in the compare view');
  await page.waitForTimeout(1500); // a <meta refresh> in a preview would have fired by now
  const pwned = await page.evaluate(() => window.__pwned);
  ok(pwned === undefined, 'no script from the HAR ran (window.__pwned is ' + pwned + ')');
  ok(dialogs.length === 0, 'no dialogs: ' + dialogs.join(' | '));
  const foreign = requests.filter((u) => !u.startsWith(origin + '/') && !u.startsWith('about:') && !u.startsWith('data:'));
  ok(foreign.length === 0, 'no request left 127.0.0.1: ' + foreign.slice(0, 3).join(' '));
  const ROUTES = /^\/(|app\.js|table\.js|details\.js|compare\.js|dom\.js|highlight\.js|style\.css|favicon\.svg|api\/config|api\/upload|api\/compare(\/pair)?|api\/files(\/\d+\/(summary|rows|findings|search|overview|entries\/\d+(\/raw|\/image|\/preview)?))?)$/;
  const odd = requests.filter((u) => u.startsWith(origin) && !ROUTES.test(new URL(u).pathname));
  ok(odd.length === 0, 'the page asked only for the viewer\'s own routes: ' + odd.slice(0, 3).join(' '));
  const pwnedReq = requests.filter((u) => /pwned|onerror|javascript/i.test(u));
  ok(pwnedReq.length === 0, 'no request made by a payload: ' + pwnedReq.slice(0, 3).join(' '));
  const tries = previewTries.filter((u) => !/^data:|^about:/.test(u) && !(u.startsWith(origin + '/') && /\/entries\/\d+\/preview$/.test(new URL(u).pathname)));
  ok(answered.length === 0, 'nothing a preview asked for was answered: ' + answered.slice(0, 3).join(' '));
  const unblocked = tries.filter((u) => !/BLOCKED|CSP/i.test(failedWhy.get(u) || ''));
  ok(unblocked.length === 0, `every request a preview tried was blocked before it was sent (${tries.length}: ${[...new Set(tries.map((u) => failedWhy.get(u)))].join(', ')}): ` + unblocked.slice(0, 3).join(' '));
  const top = await page.evaluate(() => document.querySelector('#top').getBoundingClientRect().height);
  ok(top < 200, `header intact (${top}px)`);
  ok(pageErrors.length === 0, 'no script errors in the viewer: ' + pageErrors.join(' | '));

  console.log(`all ${ok.count()} checks passed`);
  await browser.close();
} catch (e) {
  console.error(e.message || e);
  try { await page.screenshot({ path: '/tmp/hark-view-test-failure.png' }); console.error('screenshot: /tmp/hark-view-test-failure.png'); } catch (_) { /* ignore */ }
  await browser.close();
  process.exit(1);
}
