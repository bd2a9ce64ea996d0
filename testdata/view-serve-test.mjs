// Drives the viewer that `hark serve --view` runs, in real headless Chromium (Debian's
// /usr/bin/chromium through playwright-core): the jobs list, opening jobs, Reload on a
// running job, uploads (a HAR, a .har.gz, a file that is not a HAR).
//
//   node testdata/view-serve-test.mjs VIEWER_URL SPEC_JSON
//
// SPEC_JSON: {"stopped": {"id", "name", "entries", "tag"}, "running": {…same…, "more"},
//             "upload": PATH, "uploadEntries": N, "uploadGz": PATH, "bad": PATH}
// When the running job has been opened, prints the line `MORE` and waits for a line on
// standard input: the caller sends `more` more requests through that job's proxy, then
// answers. Exits non-zero with a message on the first failed check. Env: CHROMIUM.

import { chromium } from 'playwright-core';
import { checker, viewerPage } from './chromium.mjs';
import { createInterface } from 'node:readline';

const [BASE, SPEC_JSON] = process.argv.slice(2);
if (!BASE || !SPEC_JSON) {
  console.error('usage: node view-serve-test.mjs VIEWER_URL SPEC_JSON');
  process.exit(2);
}
const SPEC = JSON.parse(SPEC_JSON);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

const ok = checker();

const { browser, context, page } = await viewerPage(chromium);
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));

/** The catalog row of job `id` (its data attributes). */
async function jobRow(id) {
  return page.evaluate((id) => {
    const tr = document.querySelector(`#catalog-rows tr[data-id="${id}"]`);
    return tr && { ...tr.dataset, text: tr.textContent, current: tr.classList.contains('current') };
  }, id);
}

/** Wait until the table shows a fully indexed file with `n` rows; the paths shown. */
async function shows(n, what, { all = true } = {}) {
  await page.waitForFunction((n) => {
    const s = document.querySelector('#status-line').dataset;
    return document.body.dataset.settled === '1' && s.done === '1' && Number(s.indexed) === n && Number(s.matched) === n;
  }, n, { timeout: 30000 }).catch(async () => {
    const s = await page.evaluate(() => ({ ...document.querySelector('#status-line').dataset, notice: document.querySelector('#notice').textContent }));
    throw new Error(`FAILED: ${what}: expected ${n} rows, status ${JSON.stringify(s)}`);
  });
  const paths = await page.$$eval('#rows .row .c-path', (cs) => cs.map((c) => c.textContent));
  // The table draws only the rows in view: all of them for a job's few requests.
  if (all) ok(paths.length === n, `${what}: ${n} rows in the table (got ${paths.length})`);
  else ok(paths.length > 0 && paths.length <= n, `${what}: ${n} rows matched, the first ${paths.length} drawn`);
  return paths;
}

async function openJob(id) {
  await page.click(`#catalog-rows tr[data-id="${id}"] button.open`);
}

try {
  console.log('jobs list');
  const resp = await page.goto(BASE);
  ok(resp.status() === 200, 'viewer page answers 200');
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
  ok(await page.isVisible('#catalog'), 'the jobs list is shown');
  ok(await page.isVisible('#empty'), 'nothing open yet: the page says how to open something');
  await page.waitForFunction(() => document.querySelectorAll('#catalog-rows tr').length === 2, null, { timeout: 10000 });
  for (const j of [SPEC.stopped, SPEC.running]) {
    const r = await jobRow(j.id);
    ok(r && r.text.includes(j.name), `job ${j.name} listed`);
    ok(Number(r.entries) === j.entries, `job ${j.name}: ${j.entries} entries listed (got ${r.entries})`);
  }
  ok((await jobRow(SPEC.stopped.id)).state === 'stopped', 'stopped job listed as stopped');
  ok((await jobRow(SPEC.running.id)).state === 'running', 'running job listed as running');
  ok(await page.isVisible('#upload-label'), 'the Open file… control is shown');

  console.log('open the stopped job');
  await openJob(SPEC.stopped.id);
  let paths = await shows(SPEC.stopped.entries, 'stopped job');
  ok(paths.every((p) => p.includes(`/n/${SPEC.stopped.tag}-`)), 'only the stopped job\'s requests: ' + paths.join(' '));
  ok((await jobRow(SPEC.stopped.id)).current, 'the open job is highlighted in the list');
  ok(await page.isVisible('#reload'), 'Reload is offered for a job');

  console.log('open the running job, then reload it');
  await openJob(SPEC.running.id);
  paths = await shows(SPEC.running.entries, 'running job');
  ok(paths.every((p) => p.includes(`/n/${SPEC.running.tag}-`)), 'only the running job\'s requests: ' + paths.join(' '));
  console.log('MORE');
  const answer = await lines.next();
  ok(!answer.done, 'the caller sent more traffic');
  const total = SPEC.running.entries + SPEC.running.more;
  // The list refreshes by itself while the page is open.
  await page.waitForFunction(({ id, total }) => {
    const tr = document.querySelector(`#catalog-rows tr[data-id="${id}"]`);
    return tr && Number(tr.dataset.entries) === total;
  }, { id: SPEC.running.id, total }, { timeout: 15000 }).catch(() => { throw new Error('FAILED: the jobs list never showed the new entries'); });
  ok(true, `the jobs list refreshed by itself: ${total} entries`);
  paths = await shows(SPEC.running.entries, 'before Reload the snapshot is unchanged');
  const before = await page.$$eval('#file option', (os) => os.length);
  await page.click('#reload');
  paths = await shows(total, 'after Reload');
  ok(await page.$$eval('#file option', (os) => os.length) === before, 'Reload replaced the job\'s snapshot (no new line in the file menu)');
  ok(paths.every((p) => p.includes(`/n/${SPEC.running.tag}-`)), 'still only the running job\'s requests');
  ok(paths.some((p) => p.includes(`/n/${SPEC.running.tag}-more-`)), 'the new requests are there: ' + paths.join(' '));

  console.log('uploads');
  await page.setInputFiles('#upload', SPEC.upload);
  paths = await shows(SPEC.uploadEntries, 'uploaded HAR', { all: false });
  const sel = await page.$eval('#file', (s) => s.options[s.selectedIndex].textContent);
  ok(sel === SPEC.upload.split('/').pop(), 'the uploaded file is selected by its name: ' + sel);
  ok(!(await page.isVisible('#reload')), 'no Reload for an uploaded file');
  await page.setInputFiles('#upload', SPEC.uploadGz);
  await shows(SPEC.uploadEntries, 'uploaded .har.gz', { all: false });
  // A file dropped on the page is uploaded the same way.
  const dropped = (await import('node:fs')).readFileSync(SPEC.upload, 'utf8');
  await page.evaluate((text) => {
    const dt = new DataTransfer();
    dt.items.add(new File([text], 'dropped.har', { type: 'application/json' }));
    document.body.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, dropped);
  await page.waitForFunction(() => {
    const s = document.querySelector('#file');
    return s.selectedIndex >= 0 && s.options[s.selectedIndex].textContent === 'dropped.har';
  }, null, { timeout: 10000 }).catch(() => { throw new Error('FAILED: a dropped file was not opened'); });
  await shows(SPEC.uploadEntries, 'dropped HAR', { all: false });
  await page.setInputFiles('#upload', SPEC.bad);
  await page.waitForFunction(() => {
    const n = document.querySelector('#notice');
    return !n.hidden && n.classList.contains('error') && /not a HAR/.test(n.textContent);
  }, null, { timeout: 10000 }).catch(() => { throw new Error('FAILED: no error shown for a file that is not a HAR'); });
  const msg = await page.textContent('#notice');
  const badName = SPEC.bad.split('/').pop();
  ok(msg.includes(`${badName}:1:1`), 'the error names the file, line and column: ' + msg);
  await shows(SPEC.uploadEntries, 'after a failed upload, the file shown before stays', { all: false });
  const files = await page.$$eval('#file option', (os) => os.map((o) => o.textContent));
  ok(!files.includes(badName), 'the bad file is not in the file list: ' + files.join(', '));
  ok(pageErrors.length === 0, 'no errors on the page: ' + pageErrors.join(' | '));
  console.log('all checks passed');
} catch (e) {
  console.error(e.message);
  await page.screenshot({ path: '/tmp/hark-view-serve-test-failure.png' }).catch(() => {});
  await browser.close();
  process.exit(1);
}
await browser.close();
process.exit(0);
