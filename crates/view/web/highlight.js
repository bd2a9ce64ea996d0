// Syntax highlighting of HTML/XML, JavaScript and CSS source, and JSON as a collapsible
// tree. Tokens become <span> elements whose text is set with textContent: the source is
// shown, never parsed by the browser as markup, never run.

import { el } from './dom.js';

const JS_KEYWORDS = new Set(('break case catch class const continue debugger default delete do else export extends ' +
  'finally for function if import in instanceof let new return super switch this throw try typeof var void while with ' +
  'yield async await of static get set null true false undefined').split(' '));

function span(cls, text) {
  const s = document.createElement('span');
  if (cls) s.className = cls;
  s.textContent = text;
  return s;
}

/** Tokens of JavaScript: [class, text] pairs covering the whole input. */
export function jsTokens(src) {
  const out = [];
  let i = 0, plain = '';
  const n = src.length;
  const flush = () => { if (plain) { out.push(['', plain]); plain = ''; } };
  const push = (c, t) => { flush(); out.push([c, t]); };
  let lastSignificant = '';
  while (i < n) {
    const c = src[i];
    const d = src[i + 1];
    if (c === '/' && d === '/') {
      let j = src.indexOf('\n', i); if (j < 0) j = n;
      push('c', src.slice(i, j)); i = j; continue;
    }
    if (c === '/' && d === '*') {
      let j = src.indexOf('*/', i + 2); j = j < 0 ? n : j + 2;
      push('c', src.slice(i, j)); i = j; continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < n && src[j] !== c) { if (src[j] === '\\') j++; else if (c !== '`' && src[j] === '\n') break; j++; }
      j = Math.min(j + 1, n);
      push('s', src.slice(i, j)); i = j; lastSignificant = 'v'; continue;
    }
    if (c === '/' && !/[\w)\]$]/.test(lastSignificant)) {
      // A regex literal where a value is expected.
      let j = i + 1, cls = false;
      while (j < n && src[j] !== '\n') {
        if (src[j] === '\\') { j += 2; continue; }
        if (src[j] === '[') cls = true; else if (src[j] === ']') cls = false;
        else if (src[j] === '/' && !cls) break;
        j++;
      }
      if (j < n && src[j] === '/') {
        j++; while (j < n && /[a-z]/i.test(src[j])) j++;
        push('r', src.slice(i, j)); i = j; lastSignificant = 'v'; continue;
      }
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(d || ''))) {
      let j = i + 1; while (j < n && /[0-9a-fA-FxXoObBn_.eE]/.test(src[j])) j++;
      push('n', src.slice(i, j)); i = j; lastSignificant = 'v'; continue;
    }
    if (/[A-Za-z_$]/.test(c)) {
      let j = i + 1; while (j < n && /[\w$]/.test(src[j])) j++;
      const w = src.slice(i, j);
      if (JS_KEYWORDS.has(w)) { push('k', w); lastSignificant = (w === 'this' || w === 'true' || w === 'false' || w === 'null') ? 'v' : '('; }
      else { plain += w; lastSignificant = 'v'; }
      i = j; continue;
    }
    if (!/\s/.test(c)) lastSignificant = c;
    plain += c; i++;
  }
  flush();
  return out;
}

/** Tokens of CSS. */
export function cssTokens(src) {
  const out = [];
  let i = 0, plain = '', depth = 0;
  const n = src.length;
  const flush = () => { if (plain) { out.push(['', plain]); plain = ''; } };
  const push = (c, t) => { flush(); out.push([c, t]); };
  while (i < n) {
    const c = src[i];
    if (c === '/' && src[i + 1] === '*') {
      let j = src.indexOf('*/', i + 2); j = j < 0 ? n : j + 2;
      push('c', src.slice(i, j)); i = j; continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1; while (j < n && src[j] !== c && src[j] !== '\n') { if (src[j] === '\\') j++; j++; }
      j = Math.min(j + 1, n); push('s', src.slice(i, j)); i = j; continue;
    }
    if (c === '@') {
      let j = i + 1; while (j < n && /[\w-]/.test(src[j])) j++;
      push('k', src.slice(i, j)); i = j; continue;
    }
    if (c === '{') { depth++; plain += c; i++; continue; }
    if (c === '}') { depth = Math.max(0, depth - 1); plain += c; i++; continue; }
    if (depth > 0 && /[A-Za-z-]/.test(c)) {
      let j = i; while (j < n && /[\w-]/.test(src[j])) j++;
      let k = j; while (k < n && /\s/.test(src[k])) k++;
      const w = src.slice(i, j);
      if (src[k] === ':' && !/[;{]/.test(src.slice(j, k))) push('p', w);
      else plain += w;
      i = j; continue;
    }
    if (c === '#' && depth > 0) {
      let j = i + 1; while (j < n && /[0-9a-fA-F]/.test(src[j])) j++;
      push('n', src.slice(i, j)); i = j; continue;
    }
    if (/[0-9]/.test(c)) {
      let j = i + 1; while (j < n && /[0-9.%a-z]/i.test(src[j])) j++;
      push('n', src.slice(i, j)); i = j; continue;
    }
    if (depth === 0 && /[.#:\w\[\]-]/.test(c)) {
      let j = i; while (j < n && /[^{,;\s]/.test(src[j]) && !(src[j] === '/' && src[j + 1] === '*')) j++;
      if (j === i) j = i + 1;
      push('t', src.slice(i, j)); i = j; continue;
    }
    plain += c; i++;
  }
  flush();
  return out;
}

/** Tokens of HTML or XML (script and style contents highlighted as JS and CSS). */
export function htmlTokens(src) {
  const out = [];
  let i = 0, plain = '';
  const n = src.length;
  const flush = () => { if (plain) { out.push(['', plain]); plain = ''; } };
  const push = (c, t) => { flush(); out.push([c, t]); };
  while (i < n) {
    if (src.startsWith('<!--', i)) {
      let j = src.indexOf('-->', i + 4); j = j < 0 ? n : j + 3;
      push('c', src.slice(i, j)); i = j; continue;
    }
    if (src[i] === '<' && /[A-Za-z\/!?]/.test(src[i + 1] || '')) {
      // A tag: <name attr="value" …>
      let j = i + 1;
      if (src[j] === '/' || src[j] === '!' || src[j] === '?') j++;
      let k = j; while (k < n && /[^\s>\/]/.test(src[k])) k++;
      push('t', src.slice(i, k));
      const name = src.slice(j, k).toLowerCase();
      i = k;
      while (i < n && src[i] !== '>') {
        const c = src[i];
        if (c === '"' || c === "'") {
          let e = src.indexOf(c, i + 1); e = e < 0 ? n : e + 1;
          push('s', src.slice(i, e)); i = e; continue;
        }
        if (/[^\s=\/>]/.test(c)) {
          let e = i; while (e < n && /[^\s=\/>]/.test(src[e])) e++;
          push('a', src.slice(i, e)); i = e; continue;
        }
        plain += c; i++;
      }
      if (i < n) { push('t', '>'); i++; }
      if ((name === 'script' || name === 'style') && src[j - 1] !== '/') {
        const close = src.toLowerCase().indexOf('</' + name, i);
        const end = close < 0 ? n : close;
        const body = src.slice(i, end);
        for (const t of (name === 'script' ? jsTokens(body) : cssTokens(body))) push(t[0], t[1]);
        i = end;
      }
      continue;
    }
    if (src[i] === '&') {
      const m = /^&#?\w{1,10};/.exec(src.slice(i, i + 12));
      if (m) { push('e', m[0]); i += m[0].length; continue; }
    }
    plain += src[i]; i++;
  }
  flush();
  return out;
}

/** Above this many characters source is shown plain (highlighting would be slow). */
export const HIGHLIGHT_LIMIT = 400000;

/** A <pre> with the source highlighted for `kind` (html, xml, js, css) or plain. */
export function source(text, kind) {
  const pre = el('pre', { class: 'source' });
  pre.dataset.kind = kind;
  const tok = { html: htmlTokens, xml: htmlTokens, js: jsTokens, css: cssTokens }[kind];
  if (!tok || text.length > HIGHLIGHT_LIMIT) {
    pre.textContent = text;
    return pre;
  }
  const frag = document.createDocumentFragment();
  for (const [c, t] of tok(text)) frag.appendChild(c ? span(c, t) : document.createTextNode(t));
  pre.appendChild(frag);
  return pre;
}

/** A collapsible tree of a parsed JSON value. Children are built when first opened;
 * nodes for which `want(value)` is true are opened too (the search's matches). */
export function jsonTree(value, open = 2, want = null) {
  const root = el('div', { class: 'json' });
  root.appendChild(node(null, value, open, want));
  return root;
}

function scalar(v) {
  if (v === null) return span('jn', 'null');
  if (typeof v === 'string') return span('js', JSON.stringify(v));
  if (typeof v === 'number') return span('jnum', String(v));
  if (typeof v === 'boolean') return span('jb', String(v));
  return span('', String(v));
}

function node(key, v, open, want) {
  const line = el('div', { class: 'jl' });
  const label = key === null ? null : span('jk', typeof key === 'number' ? String(key) : JSON.stringify(key));
  if (v === null || typeof v !== 'object') {
    if (label) line.append(label, ': ');
    line.appendChild(scalar(v));
    return line;
  }
  const isArr = Array.isArray(v);
  const keys = isArr ? v.map((_, i) => i) : Object.keys(v);
  const toggle = el('span', { class: 'jt', role: 'button', tabindex: '0' });
  const head = el('span', { class: 'jh' });
  if (label) head.append(label, ': ');
  head.append(isArr ? `[${keys.length}]` : `{${keys.length}}`);
  const kids = el('div', { class: 'jc' });
  let built = false;
  const set = (o) => {
    if (o && !built) {
      built = true;
      const shown = keys.slice(0, 2000);
      for (const k of shown) kids.appendChild(node(k, v[k], open - 1, want));
      if (keys.length > shown.length) kids.appendChild(el('div', { class: 'jl dim', text: `… ${keys.length - shown.length} more` }));
    }
    kids.hidden = !o;
    toggle.textContent = o ? '▾' : '▸';
    line.setAttribute('aria-expanded', String(o));
  };
  const flip = () => set(kids.hidden);
  toggle.addEventListener('click', flip);
  head.addEventListener('click', flip);
  line.append(toggle, head, kids);
  set((open > 0 || (want !== null && want(v))) && keys.length > 0);
  return line;
}
