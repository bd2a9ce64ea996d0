// hark view: the page. State lives in the URL hash (so a view can be shared and
// survives a reload); the table asks the server for the rows in view only.

import { el, clear, bytes, ms, getJSON } from './dom.js';
import { Table } from './table.js';
import { Details } from './details.js';
import { Compare } from './compare.js';

const TYPES = [['document', 'Doc'], ['xhr', 'Fetch/XHR'], ['script', 'JS'], ['stylesheet', 'CSS'], ['image', 'Img'],
  ['font', 'Font'], ['media', 'Media'], ['websocket', 'WS'], ['other', 'Other']];
const STATUSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'failed'];
const FIELDS = ['q', 'regex', 'domain', 'method', 'min_time', 'min_size', 'errors', 'group', 'fit', 'search', 'search_regex'];

const $ = (id) => document.getElementById(id);
const state = { file: 0, item: null, types: new Set(), statuses: new Set(), sort: 'start', desc: false, sel: null,
  finding: null, flow: null, panel: false, range: null /* [from, to] ms after the capture's start */ };
let overview = null;
let findings = null; // the file's findings report, once computed
let findingsTimer = null;
let searchRun = null; // the search being followed: {key, ctrl, hits: Map(entry -> fields), progress}
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
  highlight: () => currentNeedle(),
  hitFields: (i) => (searchRun && searchRun.hits.get(i)) || null,
});

// Compare mode (`#compare=A,B`): two files side by side, instead of the table.
let comparing = false;
const cmp = new Compare($('compare'), {
  onExit: () => exitCompare(),
  onOpen: (file, i) => openFromCompare(file, i),
  onHash: (p) => {
    const url = location.pathname + location.search + '#' + p.toString();
    if (url !== location.pathname + location.search + location.hash) history.replaceState(null, '', url);
  },
});

function compareInHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  const m = /^(\d+),(\d+)$/.exec(p.get('compare') || '');
  if (!m) return null;
  return { a: Number(m[1]), b: Number(m[2]), show: p.get('show') || 'all', pair: p.has('pair') ? Number(p.get('pair')) : null };
}

async function enterCompare(c) {
  comparing = true;
  document.body.classList.add('comparing');
  details.hide();
  $('compare-with').value = '';
  await cmp.open(c.a, c.b, c.show, c.pair);
}

function exitCompare() {
  comparing = false;
  document.body.classList.remove('comparing');
  cmp.close();
  $('compare-with').value = '';
  writeHash();
  refresh();
}

/** Leave compare mode for one side's request, with all its details. */
async function openFromCompare(file, i) {
  comparing = false;
  document.body.classList.remove('comparing');
  cmp.close();
  unsettled();
  await switchTo(file);
  showEntry(i);
}

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
  const only = onlyEntries();
  if (only) p.set('ids', only.entries.join(','));
  if (state.range && summary && summary.origin != null) {
    p.set('from', String(summary.origin + state.range[0]));
    p.set('to', String(summary.origin + state.range[1]));
  }
  return p;
}

/** The waterfall's axis: the brushed range, else the whole capture (absolute time kept
 * when filtering), else — with Fit — the rows shown. */
function setAxis() {
  const whole = summary && summary.origin != null ? { origin: summary.origin, end: summary.origin + Math.max(summary.finish, 1) } : null;
  table.zero = whole ? whole.origin : null;
  if (whole && state.range) table.viewAxis = { origin: whole.origin + state.range[0], end: whole.origin + state.range[1] };
  else if (whole && !$('fit').checked) table.viewAxis = whole;
  else table.viewAxis = null;
}

// ---------------------------------------------------------------- overview strip
async function loadOverview() {
  if (!nfiles) return;
  const file = state.file;
  const bins = Math.max(20, Math.min(400, Math.floor(($('overview').clientWidth || 800) / 4)));
  let o;
  try { o = await getJSON(`${base()}/overview?bins=${bins}`); } catch (_) { return; }
  if (file !== state.file) return;
  overview = o;
  drawOverview();
}

function drawOverview() {
  const o = overview;
  const bars = clear($('ov-bars'));
  const marks = clear($('ov-marks'));
  if (!o || o.origin == null) return;
  const max = Math.max(1, ...o.bins);
  o.bins.forEach((n, k) => {
    const b = el('div', { class: 'ob' + (o.errors[k] ? ' err' : ''), title: `${n} requests${o.errors[k] ? `, ${o.errors[k]} errors` : ''}` });
    b.style.height = (n ? Math.max(8, n / max * 100) : 0) + '%';
    bars.appendChild(b);
  });
  const span = Math.max(o.end - o.origin, 1);
  for (const p of (o.pages || []).slice(0, 200)) {
    if (p.start == null) continue;
    for (const [cls, t] of [['dcl', p.onContentLoad], ['load', p.onLoad]]) {
      if (t == null) continue;
      const m = el('div', { class: 'marker ' + cls });
      m.style.left = ((p.start + t - o.origin) / span * 100) + '%';
      marks.appendChild(m);
    }
  }
  $('overview').dataset.bins = String(o.bins.length);
  drawBrush();
}

function drawBrush() {
  const b = $('ov-brush');
  const o = overview;
  if (!state.range || !o || o.origin == null || !summary) { b.hidden = true; $('ov-label').textContent = ''; return; }
  const span = Math.max(o.end - o.origin, 1);
  const shift = summary.origin - o.origin;
  b.hidden = false;
  b.style.left = ((state.range[0] + shift) / span * 100) + '%';
  b.style.width = Math.max((state.range[1] - state.range[0]) / span * 100, 0.2) + '%';
  $('ov-label').textContent = `${ms(state.range[0])} – ${ms(state.range[1])} (double-click: all)`;
}

function setupBrush() {
  const ov = $('overview');
  let start = null;
  const at = (e) => {
    const r = ov.getBoundingClientRect();
    const f = Math.max(0, Math.min(1, (e.clientX - r.left) / Math.max(r.width, 1)));
    const o = overview;
    return o.origin + f * Math.max(o.end - o.origin, 1) - summary.origin;
  };
  ov.addEventListener('mousedown', (e) => {
    if (!overview || overview.origin == null || !summary) return;
    e.preventDefault();
    start = { x: e.clientX, t: at(e) };
  });
  window.addEventListener('mousemove', (e) => {
    if (!start) return;
    const t = at(e);
    state.range = [Math.min(start.t, t), Math.max(start.t, t)];
    drawBrush();
  });
  window.addEventListener('mouseup', (e) => {
    if (!start) return;
    const moved = Math.abs(e.clientX - start.x) >= 3;
    const t = at(e);
    start = null;
    state.range = moved ? [Math.floor(Math.min(state.range[0], t)), Math.ceil(Math.max(state.range[1], t))] : null;
    drawBrush();
    changed({ now: true });
  });
  ov.addEventListener('dblclick', () => { state.range = null; drawBrush(); changed({ now: true }); });
}

/** The entries the table is narrowed to: a finding's, or a sign-in flow's steps. */
function onlyEntries() {
  if (!findings) return null;
  if (state.finding !== null) {
    const f = findings.findings[state.finding];
    if (f) return { entries: f.entries.length ? f.entries : [-1], label: `${f.severity}: ${f.title} (${f.count > f.entries.length ? `first ${f.entries.length} of ${f.count}` : f.entries.length} requests)` };
  }
  if (state.flow !== null) {
    const fl = findings.flows[state.flow];
    if (fl) return { entries: fl.steps.map((s) => s.index), label: `Sign-in flow ${state.flow + 1} (${fl.protocol}, ${fl.outcome}): ${fl.steps.length} steps` };
  }
  return null;
}

function writeHash() {
  if (comparing) return;
  const p = params();
  if (state.file) p.set('file', String(state.file));
  if (state.item) p.set('item', state.item);
  if (state.sel !== null) p.set('sel', String(state.sel));
  p.delete('ids');
  if (state.finding !== null) p.set('finding', String(state.finding));
  if (state.flow !== null) p.set('flow', String(state.flow));
  if (state.panel) p.set('findings', '1');
  p.delete('from'); p.delete('to');
  if (state.range) p.set('range', `${state.range[0]}-${state.range[1]}`);
  const h = p.toString();
  const url = location.pathname + location.search + (h ? '#' + h : '');
  if (url !== location.pathname + location.search + location.hash) history.replaceState(null, '', url);
}

function readHash() {
  if (compareInHash()) return;
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
  state.finding = p.has('finding') ? Number(p.get('finding')) : null;
  state.flow = p.has('flow') ? Number(p.get('flow')) : null;
  state.panel = p.get('findings') === '1';
  const rg = /^(-?\d+(?:\.\d+)?)-(-?\d+(?:\.\d+)?)$/.exec(p.get('range') || '');
  state.range = rg && Number(rg[2]) > Number(rg[1]) ? [Number(rg[1]), Number(rg[2])] : null;
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
  syncSearch();
  drawOnly();
  setAxis();
  drawBrush();
  try {
    table.base = base();
    await table.reset(params().toString(), opts);
  } catch (e) {
    if (/regex/.test(e.message)) $(/search/.test(e.message) || ($('search_regex').checked && !$('regex').checked) ? 'search' : 'q').classList.add('invalid');
    notice(e.message, 'error');
  } finally {
    if (seq === refreshSeq) document.body.dataset.settled = '1';
  }
}

// ---------------------------------------------------------------- search everything
function currentNeedle() {
  const text = $('search').value;
  return text ? { text, regex: $('search_regex').checked } : null;
}

/** Follow the search the page asks for (one at a time): start it, or stop the old one. */
function syncSearch() {
  const n = currentNeedle();
  const key = n ? `${state.file}:${n.regex ? 're' : 'tx'}:${n.text}` : '';
  if (searchRun && searchRun.key === key) return;
  if (searchRun && !searchRun.over) searchRun.ctrl.abort();
  searchRun = null;
  $('search').classList.remove('invalid');
  if (!key) { searchStatus(null); return; }
  const run = searchRun = { key, ctrl: new AbortController(), hits: new Map(), progress: null, over: false };
  searchStatus(run);
  streamSearch(run, n).catch(() => {});
}

async function streamSearch(run, n) {
  const p = new URLSearchParams({ text: n.text });
  if (n.regex) p.set('regex', '1');
  const r = await fetch(`${base()}/search?${p}`, { signal: run.ctrl.signal, credentials: 'same-origin' });
  if (!r.ok) {
    let b = null;
    try { b = await r.json(); } catch (_) { b = null; }
    run.over = true;
    run.error = (b && b.error) || ('HTTP ' + r.status);
    $('search').classList.add('invalid');
    searchStatus(run);
    return;
  }
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  let last = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let nl;
    let got = false;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const msg = JSON.parse(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      for (const [i, fields] of msg.hits) run.hits.set(i, fields);
      run.progress = msg.progress;
      got = true;
    }
    if (run !== searchRun) return;
    if (!got) continue;
    if (run.progress.done) run.over = true;
    searchStatus(run);
    const now = performance.now();
    if (run.over || now - last > 250) { last = now; await refresh({ keepScroll: true }); }
    if (run.over) { $('search-count').dataset.done = '1'; return; }
  }
}

function cancelSearch() {
  const run = searchRun;
  if (!run || run.over) return;
  run.ctrl.abort();
  run.over = true;
  run.cancelled = true;
  searchStatus(run);
  $('search-count').dataset.done = '1';
  refresh({ keepScroll: true });
}

function searchStatus(run) {
  const c = $('search-count');
  $('search-cancel').hidden = !run || run.over;
  if (!run) { c.textContent = ''; delete c.dataset.count; delete c.dataset.done; return; }
  const n = run.hits.size;
  c.dataset.count = String(n);
  c.dataset.done = run.over ? '1' : '0';
  if (run.error) { c.textContent = run.error; return; }
  const pr = run.progress;
  let t = `${n.toLocaleString()} ${n === 1 ? 'match' : 'matches'}`;
  if (run.cancelled) t += ' · cancelled';
  else if (!run.over) t += ` · searching… (${(pr ? pr.scanned : 0).toLocaleString()} requests read)`;
  else if (pr && pr.ms != null) t += ` · ${pr.scanned.toLocaleString()} requests in ${ms(pr.ms)}`;
  c.textContent = t;
}

// ---------------------------------------------------------------- findings
async function loadFindings() {
  clearTimeout(findingsTimer);
  if (!nfiles) return;
  const file = state.file;
  let res;
  try { res = await getJSON(base() + '/findings'); } catch (e) { $('findings-state').textContent = 'Findings could not be read: ' + e.message; return; }
  if (file !== state.file) return;
  if (res.state === 'pending') {
    $('findings-state').textContent = 'Diagnosing…';
    $('findings-toggle').textContent = 'Findings…';
    findingsTimer = setTimeout(loadFindings, 400);
    return;
  }
  if (res.state === 'failed') { findings = null; $('findings-state').textContent = res.error; $('findings').dataset.state = 'failed'; return; }
  findings = res;
  drawFindings();
  // The rows' markers, and a finding chosen in the URL, need the report.
  await refresh({ keepScroll: true });
  if (state.sel === null) selectFirstOnly();
}

function drawFindings() {
  const f = findings;
  const t = $('findings-toggle');
  const worst = f.findings.some((x) => x.severity === 'error') ? 'error' : (f.findings.some((x) => x.severity === 'warning') ? 'warning' : '');
  t.textContent = `Findings ${f.findings.length}` + (f.flows.length ? ` · sign-in flows ${f.flows.length}` : '');
  t.classList.toggle('has-error', worst === 'error');
  t.classList.toggle('has-warning', worst === 'warning');
  $('findings-state').textContent = f.findings.length ? '' : 'hark diagnose found nothing wrong in this file.';
  const list = clear($('findings-list'));
  f.findings.forEach((x, k) => {
    const d = el('div', { class: 'finding' + (state.finding === k ? ' current' : ''), role: 'button', tabindex: '0',
      title: 'Show its requests', dataset: { k: String(k), code: x.code, severity: x.severity } },
    el('div', { class: 'f-title' }, el('span', { class: 'sev ' + x.severity, text: x.severity }), x.title),
    x.detail ? el('div', { class: 'f-detail', text: x.detail }) : null,
    x.advice ? el('div', { class: 'f-advice', text: x.advice }) : null,
    el('div', { class: 'dim', text: `${x.from} · ${x.code} · ${x.count} ${x.count === 1 ? 'request' : 'requests'}` }));
    d.addEventListener('click', () => chooseFinding(k));
    d.addEventListener('keydown', (e) => { if (e.key === 'Enter') chooseFinding(k); });
    list.appendChild(d);
  });
  const flows = clear($('flows'));
  if (f.flows.length) flows.appendChild(el('h3', { text: 'Sign-in flows' }));
  f.flows.forEach((fl, k) => {
    const ol = el('ol');
    for (const s of fl.steps) {
      const li = el('li', { class: 'step', title: s.detail || undefined, dataset: { i: String(s.index), kind: s.kind } },
        el('b', { text: s.kind }), ` ${s.method} ${s.url} → ${s.status || 'no response'}`);
      li.addEventListener('click', () => chooseFlowStep(k, s.index));
      ol.appendChild(li);
    }
    flows.appendChild(el('div', { class: 'flow', dataset: { k: String(k) } },
      el('div', null, el('b', { text: `${k + 1}. ${fl.protocol}` }), ' ', el('span', { class: 'o-' + fl.outcome, text: fl.outcome }),
        fl.clientId ? ` · client ${fl.clientId}` : '', fl.problems.length ? ` · ${fl.problems.join(', ')}` : ''),
      ol));
  });
  $('findings').dataset.state = 'done';
  $('findings').dataset.count = String(f.findings.length);
  syncPanel();
}

function syncPanel() {
  $('findings').hidden = !state.panel;
  $('findings-toggle').setAttribute('aria-expanded', String(state.panel));
  for (const d of document.querySelectorAll('#findings-list .finding')) d.classList.toggle('current', Number(d.dataset.k) === state.finding);
  for (const li of document.querySelectorAll('#flows li.step')) li.classList.toggle('current', state.flow !== null && Number(li.closest('.flow').dataset.k) === state.flow && Number(li.dataset.i) === state.sel);
}

function drawOnly() {
  const o = onlyEntries();
  $('only-bar').hidden = !o;
  $('only-label').textContent = o ? o.label : '';
}

async function chooseFinding(k) {
  state.finding = k; state.flow = null; state.sel = null;
  syncPanel(); writeHash();
  await refresh();
  selectFirstOnly();
}

async function chooseFlowStep(k, i) {
  state.flow = k; state.finding = null;
  await refresh({ keepScroll: state.flow === k });
  showEntry(i);
}

/** Select the first request of a chosen finding or flow. */
function selectFirstOnly() {
  const o = onlyEntries();
  if (!o) return;
  const first = o.entries.filter((i) => i >= 0).sort((a, b) => a - b)[0];
  if (first !== undefined) showEntry(first);
}

function showEntry(i) {
  state.sel = i; table.selected = i; table.render(); table.scrollTo(i);
  writeHash(); syncPanel();
  details.show(base(), i);
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
  if (grew || !overview) loadOverview();
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
  const cw = $('compare-with');
  clear(cw).appendChild(el('option', { value: '', text: 'Compare with…' }));
  for (const f of files) if (f.id !== state.file) cw.appendChild(el('option', { value: String(f.id), title: f.name, text: f.name.split('/').pop() }));
  cw.hidden = files.length < 2;
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
  findings = null; state.finding = null; state.flow = null; state.range = null; overview = null;
  await loadSummary();
  await refresh();
  loadFindings();
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

/** Files picked or dropped: one is opened; two are opened and compared (A, B). */
async function uploadFiles(list) {
  const fs = [...(list || [])].slice(0, 2);
  if (!fs.length) return;
  for (const f of fs) {
    if (config.maxUpload && f.size > config.maxUpload) {
      notice(`${f.name}: ${bytes(f.size)} is more than this viewer accepts (${bytes(config.maxUpload)}, see --max-upload)`, 'error');
      return;
    }
  }
  unsettled();
  try {
    const ids = [];
    for (const f of fs) {
      notice(`Uploading ${f.name} (${bytes(f.size)})…`, 'info');
      ids.push((await post('api/upload?name=' + encodeURIComponent(f.name), f)).file);
    }
    notice(null);
    if (ids.length === 2) {
      await loadFiles();
      await enterCompare({ a: ids[0], b: ids[1], show: 'all', pair: null });
      document.body.dataset.settled = '1';
    } else {
      await switchTo(ids[0]);
    }
  } catch (e) {
    notice(e.message, 'error');
    document.body.dataset.settled = '1';
  }
}

function setupExtras() {
  if (config.maxUpload > 0) {
    $('upload-label').hidden = false;
    $('upload').addEventListener('change', (e) => { const fs = [...e.target.files]; e.target.value = ''; uploadFiles(fs); });
    const files = (e) => e.dataTransfer && [...e.dataTransfer.types].includes('Files');
    document.addEventListener('dragover', (e) => { if (files(e)) { e.preventDefault(); document.body.classList.add('dropping'); } });
    document.addEventListener('dragleave', (e) => { if (!e.relatedTarget) document.body.classList.remove('dropping'); });
    document.addEventListener('drop', (e) => {
      if (!files(e)) return;
      e.preventDefault();
      document.body.classList.remove('dropping');
      uploadFiles(e.dataTransfer.files);
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
  const startCompare = compareInHash();
  if (startCompare) { comparing = true; document.body.classList.add('comparing'); }
  for (const f of FIELDS) {
    const e = $(f);
    e.addEventListener(e.type === 'checkbox' || e.tagName === 'SELECT' ? 'change' : 'input', () => changed({ now: e.type === 'checkbox' || e.tagName === 'SELECT' }));
  }
  $('clear').addEventListener('click', () => {
    for (const f of FIELDS) { const e = $(f); if (e.type === 'checkbox') e.checked = false; else e.value = ''; }
    state.types.clear(); state.statuses.clear(); state.finding = null; state.flow = null; state.range = null; syncPanel(); syncToggles(); changed({ now: true });
  });
  $('search-cancel').addEventListener('click', () => cancelSearch());
  setupBrush();
  $('findings-toggle').addEventListener('click', () => { state.panel = !state.panel; syncPanel(); writeHash(); });
  $('only-clear').addEventListener('click', () => { state.finding = null; state.flow = null; syncPanel(); changed({ now: true }); });
  $('file').addEventListener('change', (e) => {
    state.file = Number(e.target.value); state.item = null; state.sel = null; details.hide(); summary = null;
    findings = null; state.finding = null; state.flow = null; state.range = null; overview = null;
    clearTimeout(pollTimer); writeHash(); syncCatalog(); loadSummary().then(() => refresh()).then(() => loadFindings());
  });
  $('compare-with').addEventListener('change', (e) => {
    if (e.target.value !== '') enterCompare({ a: state.file, b: Number(e.target.value), show: 'all', pair: null });
  });
  window.addEventListener('hashchange', () => {
    const c = compareInHash();
    if (c) { enterCompare(c); return; }
    if (comparing) { comparing = false; document.body.classList.remove('comparing'); cmp.close(); }
    readHash(); syncPanel(); refresh();
  });
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
  syncPanel();
  loadFindings();
  if (startCompare) await enterCompare(startCompare);
  document.body.dataset.ready = '1';
}

start().catch((e) => notice('The viewer could not start: ' + e.message, 'error'));
