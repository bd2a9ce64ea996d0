// Timings of `hark view` as a user sees them in headless Chromium (bench/view.sh).
//
//   node bench/view-browser.mjs HARK FILE
//
// Starts `HARK view --no-open --port 0 FILE`, opens the viewer and prints one JSON line:
// time from start until the first rows show, until the whole file is indexed, to apply
// a filter over all rows, to open the first entry's (5 MB) body, and the server's peak RSS.
import { chromium } from '../testdata/node_modules/playwright-core/index.mjs';
import { CHROMIUM, CHROMIUM_ARGS } from '../testdata/chromium.mjs';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';

const [HARK, FILE] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS,
});
const page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
await page.goto('about:blank');

const t0 = performance.now();
const child = spawn(HARK, ['view', '--no-open', '--port', '0', '--quiet', FILE], { stdio: ['ignore', 'pipe', 'inherit'] });
// Never leave the server behind, whatever fails below.
process.on('exit', () => child.kill());
process.on('uncaughtException', (e) => { console.error(e); child.kill(); process.exit(1); });
process.on('unhandledRejection', (e) => { console.error(e); child.kill(); process.exit(1); });
const url = await new Promise((resolve, reject) => {
  const rl = readline.createInterface({ input: child.stdout });
  rl.once('line', resolve);
  rl.once('close', () => reject(new Error('hark view exited without printing its URL')));
});
const tUrl = performance.now() - t0;
await page.goto(url);
await page.waitForSelector('#rows .row[data-i]', { timeout: 120000 });
const tFirst = performance.now() - t0;
await page.waitForFunction(() => document.querySelector('#status-line').dataset.done === '1', null, { timeout: 600000, polling: 50 });
const tAll = performance.now() - t0;
const entries = await page.$eval('#status-line', (s) => Number(s.dataset.indexed));

// A filter, typed: from the keystroke to the new count on screen (includes the 120 ms
// debounce of typing).
async function filter(fill) {
  const t = performance.now();
  const answered = page.waitForResponse((r) => r.url().includes('/rows?'), { timeout: 60000 });
  await fill();
  await answered;
  // Until the next frame is painted with the new rows.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
  const ms = performance.now() - t;
  const line = await page.$eval('#status-line', (s) => s.textContent);
  return { ms, line };
}
const fText = await filter(() => page.fill('#q', 'analytics'));
const fErr = await filter(() => page.check('#errors'));
await page.fill('#q', '');
await page.uncheck('#errors');
await page.waitForTimeout(500);
const fSort = await filter(() => page.click('#thead .cell[data-sort="time"]'));
await page.click('#thead .cell[data-sort="start"]');
await page.waitForTimeout(500);

// Open the 5 MB body: select another row, pick the Response tab, then time the click
// on the first row until its body is on screen.
await page.click('#rows .row[data-i="1"]');
await page.waitForSelector('#details .d-body');
await page.click('#details .tab[data-tab="response"]');
const t5 = performance.now();
await page.click('#rows .row[data-i="0"]');
await page.waitForFunction(() => {
  const b = document.querySelector('#details .d-body[data-tab="response"]');
  return b && (b.querySelector('.json') || b.querySelector('pre.source'));
}, null, { timeout: 60000, polling: 10 });
const tBody = performance.now() - t5;

// What the page itself holds (Chromium's non-standard performance.memory), and its DOM.
const heap = await page.evaluate(() => performance.memory.usedJSHeapSize / 1048576);
const domNodes = await page.evaluate(() => document.getElementsByTagName('*').length);
const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)[1]);
child.kill();
await browser.close();
console.log(JSON.stringify({
  entries, url_ms: tUrl, first_rows_ms: tFirst, indexed_ms: tAll,
  filter_text_ms: fText.ms, filter_text: fText.line, filter_errors_ms: fErr.ms, filter_errors: fErr.line,
  sort_time_ms: fSort.ms, open_5mb_body_ms: tBody, peak_rss_mb: hwm / 1024,
  page_js_heap_mb: heap, page_dom_elements: domNodes,
}));
