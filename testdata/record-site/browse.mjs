// Headless Chromium through `hark record`, for crates/cli/tests/record.rs.
//
//   HOME=<dir with .pki/nssdb trusting hark's CA> node browse.mjs PROXY HTTP_PORT HTTPS_PORT OWN_HAR
//
// Loads the record site's page over HTTP/1.1 (gzip CSS, a fetch of gzip JSON, an image
// over HTTPS/HTTP/2, a WebSocket), then logs in over HTTPS (form POST, 302, cookie).
// Chromium records its own HAR of the same run (Playwright recordHar) into OWN_HAR.
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../chromium.mjs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [proxy, httpPort, httpsPort, ownHar] = process.argv.slice(2);
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hark-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: CHROMIUM,
  headless: true,
  ignoreHTTPSErrors: false,
  args: [
    ...CHROMIUM_ARGS,
    `--proxy-server=${proxy}`,
    // Chromium never proxies loopback unless told to.
    '--proxy-bypass-list=<-loopback>',
  ],
  recordHar: { path: ownHar, content: 'embed', mode: 'full' },
});
try {
  const page = context.pages()[0] || await context.newPage();
  await page.goto(`http://127.0.0.1:${httpPort}/`);
  await page.waitForFunction(() => document.getElementById('ws').textContent.startsWith('echo:'), null, { timeout: 15000 });
  await page.waitForFunction(() => document.getElementById('data').textContent === 'items 50', null, { timeout: 15000 });
  await page.waitForFunction(() => { const i = document.getElementById('img'); return i.complete; }, null, { timeout: 15000 });
  await page.goto(`https://127.0.0.1:${httpsPort}/login`);
  await page.fill('#user', 'jane');
  await page.fill('#password', 'hunter2');
  await Promise.all([page.waitForURL(/\/welcome$/), page.click('#go')]);
  const hi = await page.textContent('#hi');
  if (hi !== 'Welcome jane') throw new Error(`after login: ${hi}`);
  // Let the WebSocket close and the last exchanges finish.
  await page.waitForTimeout(300);
  console.log('ok');
} finally {
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
