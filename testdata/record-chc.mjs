#!/usr/bin/env node
// Records a HAR of the local site with chrome-har-capturer (Chrome DevTools protocol,
// a producer of its own with its own quirks), for hark's reader tests.
//
//   cd testdata && npm ci && node record-chc.mjs      → har/site.chrome-har-capturer.har
//
// Env: CHROMIUM (default /usr/bin/chromium).

import fs from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { startSite } from './site/server.mjs';
import { validateFile } from './validate.mjs';
import { CHROMIUM, CHROMIUM_ARGS, LOOPBACK_ONLY } from './chromium.mjs';

const require = createRequire(import.meta.url);
const CHC = require('chrome-har-capturer');
const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.join(HERE, 'har', 'site.chrome-har-capturer.har');

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const site = await startSite();
const port = await freePort();
const profile = fs.mkdtempSync('/tmp/hark-chc-');
const chrome = spawn(CHROMIUM, [
  ...CHROMIUM_ARGS, LOOPBACK_ONLY,
  `--remote-debugging-address=127.0.0.1`, `--remote-debugging-port=${port}`,
  `--user-data-dir=${profile}`, 'about:blank',
], { stdio: 'ignore' });
try {
  // Wait for the DevTools endpoint.
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/json/version`);
      if (r.ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  const urls = [`${site.url}/`, `${site.url}/login`, `${site.url}/boom`, `${site.url}/nope-404`];
  const har = await new Promise((resolve, reject) => {
    CHC.run(urls, { host: '127.0.0.1', port, content: true, timeout: 15000 })
      .on('fail', (url, err) => console.error('[chc] failed', url, err && err.message))
      .on('har', resolve)
      .on('error', reject);
  });
  fs.writeFileSync(OUT, JSON.stringify(har, null, 2) + '\n');
  const n = har.log.entries.length;
  const result = await validateFile(OUT);
  console.log(`[chc] ${path.relative(HERE, OUT)}: ${n} entries, har-validator: ${result.ok ? 'valid' : 'INVALID ' + JSON.stringify(result.errors)}`);
} finally {
  const exited = new Promise((r) => chrome.once('exit', r));
  chrome.kill('SIGTERM');
  await exited;
  await site.close();
  fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}
