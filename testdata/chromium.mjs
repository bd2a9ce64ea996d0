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
