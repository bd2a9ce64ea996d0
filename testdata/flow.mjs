// Headless Chromium runs the flow site's page (login + API calls) and prints, as one JSON
// line, what each call answered. `node flow.mjs URL [--har FILE] [--proxy HOST:PORT]`:
// --har records the run (Playwright's recordHar, embedded bodies), --proxy sends the
// browser through a proxy (`hark mock`, `hark record`).
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, LOOPBACK_ONLY } from './chromium.mjs';

const args = process.argv.slice(2);
const url = args[0];
const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const har = opt('--har');
const proxy = opt('--proxy');

const launchArgs = [...CHROMIUM_ARGS, LOOPBACK_ONLY];
if (proxy) launchArgs.push(`--proxy-server=http://${proxy}`, '--proxy-bypass-list=<-loopback>');
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: launchArgs });
try {
  const context = await browser.newContext(har ? { recordHar: { path: har, content: 'embed', mode: 'full' } } : {});
  const page = await context.newPage();
  await page.goto(url);
  const log = await page.waitForFunction(() => window.flowDone, null, { timeout: 15000 });
  console.log(JSON.stringify(await log.jsonValue()));
  await context.close();
} finally {
  await browser.close();
}
