// `node mock-ws.mjs PROXY WS_URL MESSAGE`: headless Chromium, through PROXY (host:port),
// opens the WebSocket WS_URL, sends MESSAGE and prints the first message it gets back.
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, LOOPBACK_ONLY } from './chromium.mjs';

const [proxy, url, message] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [...CHROMIUM_ARGS, LOOPBACK_ONLY, `--proxy-server=http://${proxy}`, '--proxy-bypass-list=<-loopback>'],
});
try {
  const page = await browser.newPage();
  const got = await page.evaluate(([url, message]) => new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.onopen = () => ws.send(message);
    ws.onmessage = (e) => { resolve(String(e.data)); ws.close(); };
    ws.onerror = () => reject(new Error('websocket error'));
    setTimeout(() => reject(new Error('no message in 10 s')), 10000);
  }), [url, message]);
  console.log(got);
} finally {
  await browser.close();
}
