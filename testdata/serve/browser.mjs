// Headless Chromium as a Selenium test drives it, through a proxy, for `hark serve`'s
// BrowserMob test (bmp_selenium.py).
//
//   node browser.mjs PROXY      then one URL per line on standard input; each is loaded
//                               (until the network is idle) and answered "ok URL" on
//                               standard output; end of input closes the browser.
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../chromium.mjs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

const [proxy] = process.argv.slice(2);
if (!fs.existsSync(CHROMIUM)) {
  console.error(`${CHROMIUM} is missing: install Debian's chromium`);
  process.exit(2);
}
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hark-serve-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: CHROMIUM,
  headless: true,
  args: [
    ...CHROMIUM_ARGS,
    `--proxy-server=${proxy}`,
    // Chromium never proxies loopback unless told to.
    '--proxy-bypass-list=<-loopback>',
  ],
});
try {
  const page = context.pages()[0] || await context.newPage();
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    const url = line.trim();
    if (!url) continue;
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById('data').textContent.startsWith('items'), null, { timeout: 15000 });
    await page.waitForLoadState('networkidle').catch(() => {});
    console.log(`ok ${url}`);
  }
} finally {
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
