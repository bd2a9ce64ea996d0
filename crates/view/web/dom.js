// DOM helpers. Every string from the HAR goes into the page through textContent or an
// attribute set with setAttribute on a fixed, harmless attribute: never through
// innerHTML, never as a URL the page follows.

/** el('div', {class: 'x', title: t}, child, 'text', …) */
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = String(v);
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (SAFE_ATTRS.has(k)) e.setAttribute(k, String(v));
      else throw new Error('attribute not allowed: ' + k);
    }
  }
  for (const c of children) add(e, c);
  return e;
}

// No href/src/style/on* from data: links and sources are set in code, to our own routes.
const SAFE_ATTRS = new Set(['title', 'type', 'value', 'placeholder', 'id', 'role', 'tabindex',
  'aria-label', 'aria-expanded', 'aria-selected', 'colspan', 'for', 'checked', 'hidden', 'alt']);

export function add(parent, c) {
  if (c === undefined || c === null || c === false) return;
  if (Array.isArray(c)) { for (const x of c) add(parent, x); return; }
  if (c instanceof Node) parent.appendChild(c);
  else parent.appendChild(document.createTextNode(String(c)));
}

export function clear(e) {
  while (e.firstChild) e.removeChild(e.firstChild);
  return e;
}

export function bytes(n) {
  if (n === null || n === undefined || n < 0) return '–';
  if (n < 1024) return n + ' B';
  const u = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1024, i = 0;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return (v < 10 ? v.toFixed(1) : Math.round(v)) + ' ' + u[i];
}

export function ms(t) {
  if (t === null || t === undefined || t < 0 || Number.isNaN(t)) return '–';
  if (t < 1000) return (t < 10 ? t.toFixed(1) : Math.round(t)) + ' ms';
  if (t < 60000) return (t / 1000).toFixed(2) + ' s';
  return (t / 60000).toFixed(1) + ' min';
}

export async function getJSON(url) {
  const r = await fetch(url, { credentials: 'same-origin' });
  let body;
  try { body = await r.json(); } catch (_) { body = null; }
  if (!r.ok) {
    const err = new Error((body && body.error) || ('HTTP ' + r.status));
    err.status = r.status;
    throw err;
  }
  return body;
}
