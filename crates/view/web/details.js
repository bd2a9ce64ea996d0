// The details pane of one request: headers (and raw), payload, response body (as
// source, a JSON tree or an image from our own route), cookies, timing, JWTs,
// WebSocket messages, the raw entry, and copy as curl.

import { el, clear, bytes, ms, getJSON } from './dom.js';
import { source, jsonTree } from './highlight.js';

const TABS = ['headers', 'payload', 'response', 'cookies', 'timing', 'jwt', 'websocket', 'raw'];
const TAB_LABEL = { headers: 'Headers', payload: 'Payload', response: 'Response', cookies: 'Cookies', timing: 'Timing', jwt: 'JWT', websocket: 'Messages', raw: 'Raw' };
const PHASES = ['blocked', 'dns', 'connect', 'ssl', 'send', 'wait', 'receive'];

export class Details {
  constructor(pane, { onClose, highlight, hitFields }) {
    this.pane = pane;
    this.onClose = onClose;
    this.highlight = highlight || (() => null);
    this.hitFields = hitFields || (() => null);
    this.tab = 'headers';
    this.seq = 0;
  }

  async show(base, i) {
    const seq = ++this.seq;
    this.base = base;
    this.i = i;
    this.pane.hidden = false;
    clear(this.pane).appendChild(el('div', { class: 'loading', text: 'Loading entry ' + i + '…' }));
    let d;
    try {
      d = await getJSON(`${base}/entries/${i}`);
    } catch (e) {
      if (seq !== this.seq) return;
      clear(this.pane).appendChild(el('div', { class: 'error-text', text: 'Cannot read entry ' + i + ': ' + e.message }));
      return;
    }
    if (seq !== this.seq) return;
    this.d = d;
    // A search hit: open the tab where the text was found.
    const fields = this.hitFields(i);
    if (fields && fields.length) {
      const f = fields[0];
      this.tab = f === 'response body' ? 'response' : (f === 'query' || f === 'form' || f === 'request body') ? 'payload' : f === 'cookie' ? 'cookies' : 'headers';
    }
    this.draw();
  }

  hide() {
    this.seq++;
    this.pane.hidden = true;
    clear(this.pane);
  }

  draw() {
    const d = this.d;
    const counts = {
      jwt: d.jwts.length,
      websocket: d.websocket.length,
      cookies: d.request.cookies.length + d.response.cookies.length,
    };
    const head = el('div', { class: 'd-head' },
      el('button', { type: 'button', class: 'close', title: 'Close (Esc)', 'aria-label': 'Close', onclick: () => this.onClose() }, '×'),
      el('div', { class: 'd-url', title: d.request.url, text: `${d.request.method || ''} ${d.request.url}` }),
      el('div', { class: 'd-actions' },
        el('button', { type: 'button', id: 'copy-curl', onclick: () => this.copyCurl() }, 'Copy as curl')));
    const tabs = el('div', { class: 'tabs', role: 'tablist' });
    for (const t of TABS) {
      if (t === 'websocket' && !counts.websocket) continue;
      if (t === 'jwt' && !counts.jwt) continue;
      const b = el('button', { type: 'button', role: 'tab', class: 'tab' + (this.tab === t ? ' active' : ''), 'aria-selected': String(this.tab === t) },
        TAB_LABEL[t], counts[t] ? el('span', { class: 'count', text: ' ' + counts[t] }) : null);
      b.dataset.tab = t;
      b.addEventListener('click', () => { this.tab = t; this.draw(); });
      tabs.appendChild(b);
    }
    if ((this.tab === 'jwt' && !counts.jwt) || (this.tab === 'websocket' && !counts.websocket)) this.tab = 'headers';
    const body = el('div', { class: 'd-body', role: 'tabpanel' });
    body.dataset.tab = this.tab;
    this['tab_' + this.tab](body, d);
    const fields = this.hitFields(d.index);
    const found = fields ? el('div', { class: 'found dim', text: 'Search matched in: ' + fields.join(', ') }) : null;
    clear(this.pane).append(head, el('pre', { class: 'curl-out', id: 'curl-out', hidden: true }), found, tabs, body);
    markMatches(body, this.highlight());
  }

  async copyCurl() {
    const out = this.pane.querySelector('#curl-out');
    out.textContent = this.d.curl;
    out.hidden = false;
    try {
      await navigator.clipboard.writeText(this.d.curl);
      out.dataset.copied = '1';
    } catch (_) {
      // No clipboard permission: the command is shown, selected, for copying by hand.
      const r = document.createRange();
      r.selectNodeContents(out);
      const s = getSelection(); s.removeAllRanges(); s.addRange(r);
    }
  }

  tab_headers(b, d) {
    const rq = d.request, rs = d.response;
    b.appendChild(section('General', kv([
      ['Request URL', rq.url],
      ['Request method', rq.method],
      ['Status', rs.status != null ? `${rs.status} ${rs.statusText || ''}` : null],
      ['Failure', d.failure],
      ['Remote address', d.serverIPAddress],
      ['Connection', d.connection],
      ['Protocol', rs.httpVersion || rq.httpVersion],
      ['Type', d.resourceType],
      ['Started', d.startedDateTime],
      ['Time', d.time != null ? ms(d.time) : null],
      ['Redirect to', rs.redirectURL || null],
      ['Page', d.pageref],
      ['Priority', d.priority],
      ['Initiator', d.initiator ? [d.initiator.type, d.initiator.url ? d.initiator.url + (d.initiator.line ? ':' + d.initiator.line : '') : null].filter(Boolean).join(' · ') : null],
    ])));
    if (d.initiator && d.initiator.stack.length) {
      const ol = el('ol', { class: 'stack' });
      for (const f of d.initiator.stack) {
        ol.appendChild(f.async !== undefined ? el('li', { class: 'dim', text: `(async ${f.async})` })
          : el('li', { text: `${f.function || '(anonymous)'} @ ${f.url}${f.line != null ? ':' + f.line : ''}${f.column != null ? ':' + f.column : ''}` }));
      }
      b.appendChild(section('Initiator stack', ol));
    }
    b.appendChild(headerSection('Response headers', rs.headers, rs.raw));
    b.appendChild(headerSection('Request headers', rq.headers, rq.raw));
  }

  tab_payload(b, d) {
    const rq = d.request;
    let any = false;
    if (rq.query.length) { any = true; b.appendChild(section('Query string parameters', table(['Name', 'Value'], rq.query.map((p) => [p.name, p.value])))); }
    const pd = rq.postData;
    if (pd) {
      any = true;
      if (pd.params.length) b.appendChild(section('Form data', table(['Name', 'Value'], pd.params.map((p) => [p.name, p.value]))));
      if (pd.text) b.appendChild(section(`Request body (${pd.mimeType || 'no type'}, ${bytes(new TextEncoder().encode(pd.text).length)})`, bodyView(pd.kind, pd.text, this.highlight())));
    }
    if (!any) b.appendChild(el('p', { class: 'dim', text: 'No query string or request body.' }));
  }

  tab_response(b, d) {
    const body = d.response.body;
    const c = d.response.content;
    b.appendChild(el('p', { class: 'dim' },
      `${c.mimeType || 'no type'} · ${bytes(c.size)} decoded · ${bytes(d.response.transferSize)} transferred`,
      c.encoding ? ` · ${c.encoding} in the HAR` : ''));
    switch (body.kind) {
      case 'none':
        b.appendChild(el('p', { class: 'dim', text: 'No response body in this HAR (not recorded, or stripped).' }));
        break;
      case 'image':
        b.appendChild(this.previewFrame(d, 'image'));
        break;
      case 'binary':
        if (body.preview === 'font' || body.preview === 'media') b.appendChild(this.previewFrame(d, body.preview));
        b.appendChild(el('p', { class: 'dim', text: `Binary body, ${bytes(body.bytes)}. First bytes:` }));
        b.appendChild(el('pre', { class: 'source hex', text: body.hex }));
        break;
      default:
        if (body.truncated) b.appendChild(el('p', { class: 'warn', text: `Body cut at ${bytes(body.text.length)} (it is ${bytes(body.bytes)}); the Raw tab has all of it.` }));
        if (body.preview === 'image') b.appendChild(this.previewFrame(d, 'image'));
        else if (body.preview === 'font' || body.preview === 'media') b.appendChild(this.previewFrame(d, body.preview));
        else if (body.preview === 'html') {
          const holder = el('div');
          const btn = el('button', { type: 'button', id: 'preview-html', title: 'Render it in a sandboxed frame: no scripts, nothing loaded, not on this page\'s origin',
            onclick: () => { btn.remove(); holder.appendChild(this.previewFrame(d, 'html')); } }, 'Preview (sandboxed)');
          holder.appendChild(btn);
          b.appendChild(holder);
        }
        if (body.kind === 'html' || body.kind === 'xml') b.appendChild(el('p', { class: 'dim', text: 'Shown as source; a preview renders in a sandboxed frame only (no scripts, nothing loaded).' }));
        b.appendChild(bodyView(body.kind, body.text, this.highlight()));
    }
  }

  /** A preview of the response in a sandboxed frame: no scripts, an opaque origin, and
   * a document whose own policy loads nothing (see /entries/{n}/preview). */
  previewFrame(d, kind) {
    const f = document.createElement('iframe');
    f.setAttribute('sandbox', '');
    f.setAttribute('referrerpolicy', 'no-referrer');
    f.className = 'preview-frame ' + kind;
    f.title = 'preview (sandboxed)';
    f.dataset.kind = kind;
    f.src = `${this.base}/entries/${d.index}/preview`;
    return f;
  }

  tab_cookies(b, d) {
    const cols = ['Name', 'Value', 'Domain', 'Path', 'Expires', 'HttpOnly', 'Secure', 'SameSite'];
    const rowOf = (c) => [c.name, c.value, c.domain, c.path, c.expires || (c.maxAge != null ? 'max-age ' + c.maxAge : ''), c.httpOnly ? '✓' : '', c.secure ? '✓' : '', c.sameSite];
    b.appendChild(section(`Request cookies (${d.request.cookies.length})`,
      d.request.cookies.length ? table(['Name', 'Value'], d.request.cookies.map((c) => [c.name, c.value])) : el('p', { class: 'dim', text: 'None sent.' })));
    b.appendChild(section(`Response cookies (${d.response.cookies.length})`,
      d.response.cookies.length ? table(cols, d.response.cookies.map(rowOf)) : el('p', { class: 'dim', text: 'None set.' })));
  }

  tab_timing(b, d) {
    const t = d.timings;
    const total = PHASES.reduce((a, p) => a + (p !== 'ssl' && t[p] > 0 ? t[p] : 0), 0);
    const tbl = el('table', { class: 'timing' });
    for (const p of PHASES) {
      const v = t[p];
      const track = el('div', { class: 'track' });
      if (v > 0 && total > 0) {
        let before = 0;
        for (const q of PHASES) { if (q === p) break; if (q !== 'ssl' && t[q] > 0) before += t[q]; }
        if (p === 'ssl') before = Math.max(0, before - (t.ssl || 0)) ; // ssl sits at the end of connect
        const seg = el('div', { class: 'seg ' + p });
        seg.style.left = (before / total * 100) + '%';
        seg.style.width = Math.max(v / total * 100, 0.5) + '%';
        track.appendChild(seg);
      }
      tbl.appendChild(el('tr', null,
        el('th', { text: p }),
        el('td', { class: 'tl' }, track),
        el('td', { class: 'num', text: v == null ? 'missing' : (v < 0 ? 'n/a' : ms(v)) })));
    }
    tbl.appendChild(el('tr', { class: 'total' }, el('th', { text: 'total' }), el('td'), el('td', { class: 'num', text: ms(d.time) })));
    b.appendChild(section('Timing', tbl));
    if (d.time != null && total > 0 && Math.abs(total - d.time) > 1) {
      b.appendChild(el('p', { class: 'dim', text: `The phases add up to ${ms(total)}; the entry's time is ${ms(d.time)}.` }));
    }
  }

  tab_jwt(b, d) {
    for (const j of d.jwts) {
      const s = el('div', { class: 'jwt' });
      s.appendChild(el('h4', { text: `JWT in ${j.where}` + (j.alg ? ` · alg ${j.alg}` : '') }));
      const dates = [['expires', j.exp], ['issued', j.iat], ['not before', j.nbf]].filter((x) => x[1]);
      if (dates.length) s.appendChild(kv(dates));
      s.appendChild(el('div', { class: 'sub', text: 'Header' }));
      s.appendChild(jsonTree(j.header, 3));
      s.appendChild(el('div', { class: 'sub', text: 'Claims' }));
      s.appendChild(jsonTree(j.claims, 3));
      s.appendChild(el('p', { class: 'dim', text: 'Decoded only; the signature is not verified.' }));
      b.appendChild(s);
    }
  }

  tab_websocket(b, d) {
    const rows = d.websocket.map((m) => [
      m.type === 'send' ? '↑ sent' : (m.type === 'receive' ? '↓ received' : m.type),
      m.time != null ? new Date(m.time * 1000).toISOString().slice(11, 23) : '',
      m.opcode === 1 ? 'text' : (m.opcode === 2 ? 'binary' : String(m.opcode ?? '')),
      m.data.length > 2000 ? m.data.slice(0, 2000) + ` … (${m.data.length} chars)` : m.data,
    ]);
    b.appendChild(section(`WebSocket messages (${rows.length})`, table(['', 'Time', 'Opcode', 'Data'], rows, 'ws')));
  }

  async tab_raw(b, d) {
    const pre = el('pre', { class: 'source raw', text: 'Loading…' });
    b.appendChild(pre);
    const r = await fetch(`${this.base}/entries/${d.index}/raw`);
    const text = await r.text();
    if (this.d === d) { pre.textContent = text; markMatches(pre, this.highlight()); }
  }
}

/** Wrap what the search matches in the text of `root` in <mark class="hit"> (DOM
 * only: text nodes are split, nothing is parsed as HTML). */
export function markMatches(root, needle) {
  if (!needle || !needle.text) return 0;
  let re;
  try {
    re = new RegExp(needle.regex ? needle.text : needle.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi');
  } catch (_) { return 0; }
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) nodes.push(n);
  let count = 0;
  for (const node of nodes) {
    const text = node.nodeValue;
    re.lastIndex = 0;
    let m;
    let at = 0;
    const parts = [];
    while ((m = re.exec(text)) && count < 2000) {
      if (m[0].length === 0) { re.lastIndex++; continue; }
      parts.push([m.index, m.index + m[0].length]);
      count++;
    }
    if (!parts.length) continue;
    const frag = document.createDocumentFragment();
    for (const [a, b] of parts) {
      if (a > at) frag.appendChild(document.createTextNode(text.slice(at, a)));
      frag.appendChild(el('mark', { class: 'hit', text: text.slice(a, b) }));
      at = b;
    }
    if (at < text.length) frag.appendChild(document.createTextNode(text.slice(at)));
    node.parentNode.replaceChild(frag, node);
  }
  const first = root.querySelector('mark.hit');
  if (first) first.classList.add('first');
  return count;
}

function section(title, ...content) {
  return el('section', { class: 'd-sec' }, el('h3', { text: title }), ...content);
}

function kv(pairs) {
  const t = el('table', { class: 'kv' });
  for (const [k, v] of pairs) {
    if (v === null || v === undefined || v === '') continue;
    t.appendChild(el('tr', null, el('th', { text: k }), el('td', { text: v })));
  }
  return t;
}

function table(cols, rows, cls) {
  const t = el('table', { class: 'grid' + (cls ? ' ' + cls : '') });
  t.appendChild(el('tr', null, cols.map((c) => el('th', { text: c }))));
  for (const r of rows) t.appendChild(el('tr', null, r.map((v) => el('td', { text: v ?? '' }))));
  return t;
}

function headerSection(title, headers, raw) {
  const s = section(`${title} (${headers.length})`);
  const h3 = s.firstChild;
  const view = el('div');
  let showRaw = false;
  const draw = () => {
    clear(view);
    view.appendChild(showRaw ? el('pre', { class: 'source raw-headers', text: raw }) : kv(headers.map((x) => [x.name, x.value])));
    btn.textContent = showRaw ? 'parsed' : 'raw';
  };
  const btn = el('button', { type: 'button', class: 'link raw-toggle', onclick: () => { showRaw = !showRaw; draw(); } });
  h3.appendChild(btn);
  s.appendChild(view);
  draw();
  return s;
}

/** A predicate opening the JSON nodes that hold a match of `needle` (small bodies). */
function wants(needle, text) {
  if (!needle || !needle.text || text.length > 2_000_000) return null;
  let re;
  try {
    re = new RegExp(needle.regex ? needle.text : needle.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
  } catch (_) { return null; }
  if (!re.test(text)) return null;
  return (v) => re.test(JSON.stringify(v));
}

function bodyView(kind, text, needle = null) {
  if (kind === 'json') {
    try {
      if (text.length < 20_000_000) return jsonTree(JSON.parse(text), 2, wants(needle, text));
    } catch (_) { /* not valid JSON after all: show it as text */ }
    return source(text, 'text');
  }
  return source(text, kind);
}
