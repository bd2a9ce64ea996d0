// Drives `hark capture` for crates/cli/tests/capture.rs: the Acme site (site/server.mjs)
// signed in through its OAuth-style redirects, then its live page (JSON, binary, a
// WebSocket, server-sent events, a refused request) and its CORS failures, clicked by playwright-core's
// connectOverCDP in the very browser hark records, as a person would.
//
//   node capture.mjs launch HARK OUT.har LOG.json   hark starts Chromium (headless); the
//                                                   browser is closed at the end (hark stops)
//   node capture.mjs attach HARK OUT.har LOG.json   Chromium is started here with
//                                                   --remote-debugging-port; hark --connect;
//                                                   playwright's recordHar of the same
//                                                   session goes to OUT.playwright.har
//   node capture.mjs kill9  HARK OUT.har LOG.json   launch, then kill -9 of hark after the
//                                                   flow, and `hark capture --recover`
//
// LOG.json gets the site's own request log; hark's stderr is echoed.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, LOOPBACK_ONLY } from './chromium.mjs';
import { startSite, USER } from './site/server.mjs';

const [mode, hark, out, logFile] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Spawn, echo stderr, resolve `match` of the first stderr line matching `re`. */
function start(cmd, args, re, env = process.env) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'pipe'], env });
  children.push(child);
  let buf = '';
  const found = new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      const s = d.toString();
      if (cmd === hark) process.stderr.write(s);
      buf += s;
      const m = re.exec(buf);
      if (m) resolve(m);
    });
    child.on('exit', (code) => reject(new Error(`${cmd} exited (${code}) before ${re}: ${buf.slice(-2000)}`)));
  });
  const exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  return { child, found, exited };
}

async function flow(page, site) {
  await page.goto(site.url + '/');
  await page.waitForSelector('body[data-done]', { state: 'attached' });
  await page.click('#signin');
  await page.waitForURL('**/login');
  await page.waitForSelector('body[data-ready]', { state: 'attached' });
  await page.fill('#username', USER.username);
  await page.fill('#password', USER.password);
  await page.click('#login-submit');
  await page.waitForURL('**/app');
  await page.waitForSelector('body[data-ready]', { state: 'attached' });
  await page.goto(site.url + '/scenarios/cors');
  await page.waitForSelector('body[data-done]', { state: 'attached' });
  await page.goto(site.url + '/scenarios/live');
  await page.waitForSelector('body[data-done]', { state: 'attached' });
  await page.waitForLoadState('load');
  await sleep(300);
}

const children = [];
// hark's temporary files (the browser profile) go here: it must be empty once hark
// stopped (but after kill -9, which leaves the profile behind).
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'capture-tmp-'));
const dirs = [tmp];
// Whatever happens, nothing started here outlives the script.
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs) {
    try { fs.rmSync(d, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }); } catch {}
  }
});
const site = await startSite();
const harkArgs = ['capture', '-o', out];
let browserProc = null;
let endpoint;
if (mode === 'attach') {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'capture-test-'));
  dirs.push(profile);
  const b = start(CHROMIUM, [...CHROMIUM_ARGS, LOOPBACK_ONLY, '--remote-debugging-port=0', `--user-data-dir=${profile}`, 'about:blank'],
    /DevTools listening on ws:\/\/127\.0\.0\.1:(\d+)\//);
  browserProc = b;
  const port = (await b.found)[1];
  endpoint = `http://127.0.0.1:${port}`;
  harkArgs.push('--connect', endpoint);
} else {
  harkArgs.push('--headless', '--browser', CHROMIUM, `--browser-arg=${LOOPBACK_ONLY}`, '--browser-arg=--disable-gpu');
}
const h = start(hark, harkArgs, /recording .*\((ws:\/\/[^)]+)\)/, { ...process.env, TMPDIR: tmp });
const ws = (await h.found)[1];
const browser = await chromium.connectOverCDP(endpoint ?? ws);
// Attach mode: a context of playwright's own, with its recordHar, so that the same
// session is in both HARs (OUT.playwright.har, for docs/capture.md's comparison).
const context = mode === 'attach'
  ? await browser.newContext({ recordHar: { path: out.replace(/\.har$/, '') + '.playwright.har', content: 'embed' } })
  : browser.contexts()[0];
const page = context.pages()[0] ?? (await context.newPage());
await flow(page, site);
if (mode === 'attach') await context.close(); // writes playwright's HAR
if (mode === 'launch') {
  // As a person closes the window: hark sees its browser go, and stops by itself.
  const s = await browser.newBrowserCDPSession();
  await s.send('Browser.close').catch(() => {});
}
// Disconnect playwright only: the browser stays (closing it is hark's business, or ours).
await browser.close().catch(() => {});

if (mode === 'kill9') {
  h.child.kill('SIGKILL');
  await h.exited;
  const r = spawnSync(hark, ['capture', '--recover', out + '.journal', '-o', out], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('recover failed: ' + r.status);
} else {
  if (mode !== 'launch') h.child.kill('SIGTERM');
  const { code } = await h.exited;
  if (code !== 0) throw new Error('hark capture exited ' + code);
  const left = fs.readdirSync(tmp);
  if (left.length) throw new Error('hark left temporary files: ' + left.join(', '));
  console.log('temporary profile removed: yes');
}
if (browserProc) {
  // Attach mode: the browser must still run after hark went.
  if (browserProc.child.exitCode !== null) throw new Error('the browser exited with hark');
  console.log('browser still running after hark: yes');
  browserProc.child.kill('SIGKILL');
  await browserProc.exited;
  await sleep(200); // its helper processes go too
}
fs.writeFileSync(logFile, JSON.stringify(site.requests(), null, 1));
await site.close();
process.exit(0);
