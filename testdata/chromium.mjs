// Debian's Chromium as every browser test and recording script here starts it.
//
// The flags keep a headless Chromium off the network it would otherwise call by itself
// (background updates, sync, Google services): on a machine with no outside network
// those calls fail, many at a time. LOOPBACK_ONLY goes further for pages that must load
// nothing but loopback: no name but 127.0.0.1 and localhost resolves.
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export const LOOPBACK_ONLY = '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost';

/** A loopback-only headless Chromium with one page, as the viewer tests drive it;
 * VIEW_TEST_CPU_SLOWDOWN=4 runs the page on a 4× slower CPU (to shake out timing races). */
export async function viewerPage(chromium) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, LOOPBACK_ONLY],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 850 } });
  const page = await context.newPage();
  if (process.env.VIEW_TEST_CPU_SLOWDOWN) {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: Number(process.env.VIEW_TEST_CPU_SLOWDOWN) });
  }
  return { browser, context, page };
}

/** `ok(cond, what)`: throws on a failed check, prints the passed ones; `ok.count()`. */
export function checker() {
  let n = 0;
  const ok = (cond, what) => {
    if (!cond) throw new Error('FAILED: ' + what);
    n++;
    console.log('  ok ' + what);
  };
  ok.count = () => n;
  return ok;
}
