// hark view: the page. State lives in the URL hash (so a view can be shared and
// survives a reload); the table asks the server for the rows in view only.

import { el, clear, bytes, ms, getJSON } from './dom.js';
import { Table } from './table.js';
import { Details } from './details.js';

const TYPES = [['document', 'Doc'], ['xhr', 'Fetch/XHR'], ['script', 'JS'], ['stylesheet', 'CSS'], ['image', 'Img'],
  ['font', 'Font'], ['media', 'Media'], ['websocket', 'WS'], ['other', 'Other']];
const STATUSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'failed'];
const FIELDS = ['q', 'regex', 'domain', 'method', 'min_time', 'min_size', 'errors', 'group'];

const $ = (id) => document.getElementById(id);
const state = { file: 0, item: null, types: new Set(), statuses: new Set(), sort: 'start', desc: false, sel: null };
let config = { catalog: null, maxUpload: 0 };
let nfiles = 0;
let summary = null;
let pollTimer = null;

const table = new Table({
  scroller: $('scroller'), spacer: $('spacer'), rows: $('rows'), thead: $('thead'),
  onSelect: (i) => { state.sel = i; writeHash(); details.show(base(), i); },
  onSort: (key, desc) => { state.sort = key; state.desc = desc; table.setSort(key, desc); writeHash(); refresh(); },
});
table.onData = (res) => statusLine(res);
const details = new Details($('details'), {
  onClose: () => { state.sel = null; table.selected = null; details.hide(); writeHash(); table.render(); },
});

function base() { return `api/files/${state.file}`; }

function buildToggles() {
  const types = $('types');
  types.appendChild(toggle('All', 'all-types', () => state.types.size === 0, () => { state.types.clear(); }));
  for (const [k, label] of TYPES) {
    types.appendChild(toggle(label, 'type-' + k, () => state.types.has(k), (e) => {
      if (!e.ctrlKey && !e.metaKey && !state.types.has(k)) state.types.clear();
      state.types.has(k) ? state.types.delete(k) : state.types.add(k);
    }));
  }
  const st = $('statuses');
  for (const k of STATUSES) {
    st.appendChild(toggle(k, 'status-' + k, () => state.statuses.has(k), () => {
      state.statuses.has(k) ? state.statuses.delete(k) : state.statuses.add(k);
    }));
  }
}

function toggle(label, id, isOn, flip) {
  const b = el('button', { type: 'button', class: 'toggle', id, title: id.startsWith('type-') ? 'Ctrl-click to pick several' : undefined }, label);
  b.addEventListener('click', (e) => { flip(e); syncToggles(); changed(); });
  b._isOn = isOn;
  return b;
}

function syncToggles() {
  for (const b of document.querySelectorAll('.toggle')) {
    const on = b._isOn();
    b.classList.toggle('on', on);
    b.setAttribute('aria-pressed', String(on));
  }
}

/** The query string the server understands (also the hash, plus file/sort/sel). */
function params() {
  const p = new URLSearchParams();
  for (const f of FIELDS) {
    const e = $(f);
    if (e.type === 'checkbox') { if (e.checked) p.set(f, '1'); }
    else if (e.value.trim() !== '') p.set(f, e.value.trim());
  }
  if (state.types.size) p.set('type', [...state.types].join(','));
  if (state.statuses.size) p.set('status', [...state.statuses].join(','));
  if (state.sort && state.sort !== 'start') p.set('sort', state.sort);
  if (state.desc) p.set('desc', '1');
  return p;
}

function writeHash() {
  const p = params();
  if (state.file) p.set('file', String(state.file));
  if (state.item) p.set('item', state.item);
  if (state.sel !== null) p.set('sel', String(state.sel));
  const h = p.toString();
  const url = location.pathname + location.search + (h ? '#' + h : '');
  if (url !== location.pathname + location.search + location.hash) history.replaceState(null, '', url);
}

function readHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  for (const f of FIELDS) {
    const e = $(f);
    if (e.type === 'checkbox') e.checked = p.get(f) === '1';
    else e.value = p.get(f) || '';
  }
  state.types = new Set((p.get('type') || '').split(',').filter(Boolean));
  state.statuses = new Set((p.get('status') || '').split(',').filter(Boolean));
  state.sort = p.get('sort') || 'start';
  state.desc = p.get('desc') === '1';
  state.file = Number(p.get('file') || 0) || 0;
  state.item = p.get('item') || null;
  state.sel = p.has('sel') ? Number(p.get('sel')) : null;
  table.setSort(state.sort, state.desc);
  syncToggles();
}

let debounce = null;
// body[data-settled="1"] once the table shows the latest query (tests and scripts wait on it).
let refreshSeq = 0;
function unsettled() { document.body.dataset.settled = '0'; return ++refreshSeq; }

function changed({ now = false } = {}) {
  writeHash();
  clearTimeout(debounce);
  unsettled();
  if (now) refresh(); else debounce = setTimeout(refresh, 120);
}

async function refresh(opts) {
  const seq = unsettled();
  if (!nfiles) { document.body.dataset.settled = '1'; return; }
  notice(null);
  $('q').classList.remove('invalid');
  try {
    table.base = base();
    await table.reset(params().toString(), opts);
  } catch (e) {
    if (/regex/.test(e.message)) $('q').classList.add('invalid');
    notice(e.message, 'error');
  } finally {
    if (seq === refreshSeq) document.body.dataset.settled = '1';
  }
}

function notice(text, kind) {
  const n = $('notice');
  n.hidden = !text;
  n.className = kind || '';
  n.textContent = text || '';
}

function statusLine(res) {
  const s = $('status-line');
  clear(s);
  const parts = [`${res.matched.toLocaleString()} of ${res.indexed.toLocaleString()} requests`];
  if (!res.done) parts.push('indexing…');
  parts.push(`query ${res.ms.toFixed(1)} ms`);
  s.textContent = parts.join(' · ');
  s.dataset.matched = res.matched;
  s.dataset.indexed = res.indexed;
  s.dataset.done = res.done ? '1' : '0';
}

function drawSummary(s) {
  const bar = $('summary');
  clear(bar);
  const item = (label, value, id) => el('span', { class: 'sum', id }, el('span', { class: 'k', text: label + ' ' }), el('b', { text: value }));
  bar.append(
    item('Requests', s.requests.toLocaleString(), 'sum-requests'),
    item('Transferred', bytes(s.transferred), 'sum-transferred'),
    item('Decoded', bytes(s.decoded), 'sum-decoded'),
    item('Finish', ms(s.finish), 'sum-finish'),
  );
  if (s.onContentLoad != null) bar.append(item('DOMContentLoaded', ms(s.onContentLoad), 'sum-dcl'));
  if (s.onLoad != null) bar.append(item('Load', ms(s.onLoad), 'sum-load'));
  const st = s.status;
  const cls = el('span', { class: 'sum counts', id: 'sum-status' });
  for (const k of ['1xx', '2xx', '3xx', '4xx', '5xx', 'failed']) {
    if (st[k]) cls.appendChild(el('span', { class: 'cnt s' + k, title: `${st[k]} responses ${k}`, text: `${k} ${st[k].toLocaleString()}` }));
  }
  bar.append(cls);
  const ty = el('span', { class: 'sum counts', id: 'sum-types' });
  for (const [k, label] of TYPES) if (s.types[k]) ty.appendChild(el('span', { class: 'cnt', text: `${label} ${s.types[k].toLocaleString()}` }));
  bar.append(ty);
  if (!s.done) {
    const pct = s.size ? Math.min(100, Math.round(s.bytesRead / s.size * 100)) : null;
    bar.append(el('span', { class: 'sum indexing', text: `indexing${pct != null ? ' ' + pct + '%' : ''}…` }));
  }
  if (s.error) notice('The file could not be read to the end: ' + s.error + '. The entries before that point are shown.', 'error');
  // Filter choices from the data.
  const dl = $('domains');
  clear(dl);
  for (const [d] of s.domains) dl.appendChild(el('option', { value: d }));
  const m = $('method');
  const cur = m.value;
  clear(m).appendChild(el('option', { value: '', text: 'Any method' }));
  for (const x of s.methods) m.appendChild(el('option', { value: x, text: x }));
  if (cur && !s.methods.includes(cur)) m.appendChild(el('option', { value: cur, text: cur }));
  m.value = cur;
  document.title = `${s.name} · hark view`;
}

async function loadSummary() {
  if (!nfiles) return null;
  const s = await getJSON(base() + '/summary');
  // New rows, or the end of indexing (the status line and the axis change then too).
  const grew = summary && (s.requests !== summary.requests || s.done !== summary.done);
  summary = s;
  table.pages = s.pages || [];
  drawSummary(s);
  if (grew) await refresh({ keepScroll: true });
  if (!s.done) pollTimer = setTimeout(loadSummary, 400);
  return s;
}

async function loadFiles() {
  const files = await getJSON('api/files');
  const sel = $('file');
  clear(sel);
  for (const f of files) sel.appendChild(el('option', { value: String(f.id), title: f.name, text: f.name.split('/').pop() }));
  sel.value = String(state.file);
  sel.hidden = files.length < 2;
  nfiles = files.length;
  $('empty').hidden = nfiles > 0;
  $('main').hidden = nfiles === 0;
}

/** A POST to the viewer: always with the header that cross-site pages cannot send. */
async function post(url, body) {
  const r = await fetch(url, { method: 'POST', body, credentials: 'same-origin',
    headers: { 'X-Hark-Upload': '1', 'Content-Type': 'application/octet-stream' } });
  let b = null;
  try { b = await r.json(); } catch (_) { b = null; }
  if (!r.ok) throw new Error((b && b.error) || ('HTTP ' + r.status));
  return b;
}

/** Show file `file` of the library (just added, or picked). */
async function switchTo(file, item = null) {
  state.file = file; state.item = item; state.sel = null; details.hide(); summary = null;
  clearTimeout(pollTimer); writeHash();
  await loadFiles();
  await loadSummary();
  await refresh();
  syncCatalog();
}

// The catalog (hark serve's jobs): listed while the page is open, opened in one click.
let catalogItems = [];
let catalogLoads = 0;
async function loadCatalog() {
  if (!config.catalog) return;
  let res;
  try { res = await getJSON('api/catalog'); } catch (e) { notice('Jobs could not be listed: ' + e.message, 'error'); return; }
  catalogItems = res.items;
  const body = clear($('catalog-rows'));
  for (const it of res.items) {
    const tr = el('tr', { class: 'job', dataset: { id: it.id, state: it.state, entries: String(it.entries) } },
      el('td', { class: 'name', text: it.name || it.id, title: it.id }),
      el('td', { class: 'state s-' + it.state, text: it.state }),
      el('td', { class: 'num entries', text: it.entries.toLocaleString() }),
      el('td', { class: 'num', text: bytes(it.size) }),
      el('td', { text: it.created ? new Date(it.created).toLocaleString() : '–', title: it.created }),
      el('td', {}, el('button', { type: 'button', class: 'open', text: 'Open', title: it.live ? 'Open what it has recorded so far' : 'Open its HAR', onclick: () => openItem(it.id) })));
    body.appendChild(tr);
  }
  $('catalog-empty').hidden = res.items.length > 0;
  $('catalog').dataset.loads = String(++catalogLoads);
  syncCatalog();
}

function syncCatalog() {
  for (const tr of document.querySelectorAll('#catalog-rows tr')) tr.classList.toggle('current', tr.dataset.id === state.item);
  $('reload').hidden = !state.item;
}

async function openItem(id) {
  notice('Opening ' + id + '…', 'info');
  unsettled();
  try {
    const r = await post(`api/catalog/${encodeURIComponent(id)}/open`);
    notice(null);
    await switchTo(r.file, id);
  } catch (e) {
    notice(e.message, 'error');
    document.body.dataset.settled = '1';
  }
}

async function uploadFile(f) {
  if (!f) return;
  if (config.maxUpload && f.size > config.maxUpload) {
    notice(`${f.name}: ${bytes(f.size)} is more than this viewer accepts (${bytes(config.maxUpload)}, see --max-upload)`, 'error');
    return;
  }
  notice(`Uploading ${f.name} (${bytes(f.size)})…`, 'info');
  unsettled();
  try {
    const r = await post('api/upload?name=' + encodeURIComponent(f.name), f);
    notice(null);
    await switchTo(r.file);
  } catch (e) {
    notice(e.message, 'error');
    document.body.dataset.settled = '1';
  }
}

function setupExtras() {
  if (config.maxUpload > 0) {
    $('upload-label').hidden = false;
    $('upload').addEventListener('change', (e) => { const f = e.target.files[0]; e.target.value = ''; uploadFile(f); });
    const files = (e) => e.dataTransfer && [...e.dataTransfer.types].includes('Files');
    document.addEventListener('dragover', (e) => { if (files(e)) { e.preventDefault(); document.body.classList.add('dropping'); } });
    document.addEventListener('dragleave', (e) => { if (!e.relatedTarget) document.body.classList.remove('dropping'); });
    document.addEventListener('drop', (e) => {
      if (!files(e)) return;
      e.preventDefault();
      document.body.classList.remove('dropping');
      uploadFile(e.dataTransfer.files[0]);
    });
  }
  if (config.catalog) {
    const t = $('catalog-toggle');
    t.textContent = config.catalog;
    t.hidden = false;
    $('catalog').hidden = false;
    t.addEventListener('click', () => {
      const c = $('catalog');
      c.hidden = !c.hidden;
      t.setAttribute('aria-expanded', String(!c.hidden));
      if (!c.hidden) loadCatalog();
    });
    $('reload').addEventListener('click', () => { if (state.item) openItem(state.item); });
    // Refreshed while the page is open: every few seconds when visible, and on focus.
    setInterval(() => { if (document.visibilityState === 'visible' && !$('catalog').hidden) loadCatalog(); }, 3000);
    window.addEventListener('focus', () => loadCatalog());
  }
}

async function start() {
  buildToggles();
  readHash();
  for (const f of FIELDS) {
    const e = $(f);
    e.addEventListener(e.type === 'checkbox' || e.tagName === 'SELECT' ? 'change' : 'input', () => changed({ now: e.type === 'checkbox' || e.tagName === 'SELECT' }));
  }
  $('clear').addEventListener('click', () => {
    for (const f of FIELDS) { const e = $(f); if (e.type === 'checkbox') e.checked = false; else e.value = ''; }
    state.types.clear(); state.statuses.clear(); syncToggles(); changed({ now: true });
  });
  $('file').addEventListener('change', (e) => {
    state.file = Number(e.target.value); state.item = null; state.sel = null; details.hide(); summary = null;
    clearTimeout(pollTimer); writeHash(); syncCatalog(); loadSummary().then(() => refresh());
  });
  window.addEventListener('hashchange', () => { readHash(); refresh(); });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !$('details').hidden) { state.sel = null; table.selected = null; details.hide(); writeHash(); table.render(); }
    if (e.key === '/' && document.activeElement.tagName !== 'INPUT') { e.preventDefault(); $('q').focus(); }
  });
  config = await getJSON('api/config');
  setupExtras();
  await loadFiles();
  if (state.file >= nfiles) state.file = 0;
  await loadCatalog();
  await loadSummary();
  await refresh({ keepScroll: true });
  if (state.sel !== null) { table.selected = state.sel; table.render(); details.show(base(), state.sel); }
  document.body.dataset.ready = '1';
}

start().catch((e) => notice('The viewer could not start: ' + e.message, 'error'));
