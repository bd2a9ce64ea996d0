// hark view: two files side by side. The server pairs the requests as `hark diff` does
// (method + templated path, in order of occurrence); the page lists the pairs with
// status, size and time of each side, and shows what changed in the one selected.
// Every string from a HAR goes in through textContent (dom.js's el()).

import { el, clear, bytes, ms, getJSON } from './dom.js';

const SHOWS = [['all', 'All'], ['changed', 'Only changed'], ['a', 'Only in A'], ['b', 'Only in B']];
const STATE_LABEL = { same: 'same', changed: 'changed', onlyA: 'only in A', onlyB: 'only in B' };
const PAGE = 500;

export class Compare {
  constructor(root, { onExit, onHash, onOpen }) {
    this.root = root;
    this.onExit = onExit;
    this.onOpen = onOpen;
    this.onHash = onHash;
    this.a = null; this.b = null; this.show = 'all'; this.sel = null;
    this.items = []; this.total = 0; this.seq = 0;
    this.$ = (id) => root.querySelector('#' + id);
    const shows = this.$('cmp-show');
    for (const [k, label] of SHOWS) {
      const b = el('button', { type: 'button', class: 'ctoggle', id: 'cmp-show-' + k, dataset: { show: k } }, label,
        el('span', { class: 'n' }));
      b.addEventListener('click', () => { this.show = k; this.sel = null; this.hash(); this.load(); });
      shows.appendChild(b);
    }
    this.$('cmp-exit').addEventListener('click', () => this.onExit());
    this.$('cmp-swap').addEventListener('click', () => this.open(this.b, this.a, this.show, null));
    this.$('cmp-more').addEventListener('click', () => this.load(true));
  }

  /** The part of the page's hash that is the comparison's. */
  hashParams() {
    const p = new URLSearchParams();
    p.set('compare', `${this.a},${this.b}`);
    if (this.show !== 'all') p.set('show', this.show);
    if (this.sel !== null) p.set('pair', String(this.sel));
    return p;
  }

  hash() { this.onHash(this.hashParams()); }

  async open(a, b, show = 'all', sel = null) {
    this.a = a; this.b = b; this.show = SHOWS.some(([k]) => k === show) ? show : 'all'; this.sel = sel;
    this.root.hidden = false;
    this.hash();
    await this.load();
    if (this.sel !== null) await this.select(this.sel);
  }

  close() {
    this.root.hidden = true;
    this.seq++;
    clearTimeout(this.poll);
    clear(this.$('cmp-rows'));
    this.$('cmp-details').hidden = true;
  }

  query(extra) {
    const p = new URLSearchParams({ a: String(this.a), b: String(this.b), ...extra });
    return p.toString();
  }

  async load(more = false) {
    const seq = ++this.seq;
    clearTimeout(this.poll);
    this.root.dataset.settled = '0';
    const offset = more ? this.items.length : 0;
    const box = this.$('cmp-state');
    if (!more) box.textContent = 'Pairing the requests…';
    let res;
    try {
      res = await getJSON('api/compare?' + this.query({ show: this.show, offset: String(offset), limit: String(PAGE) }));
    } catch (e) {
      if (seq !== this.seq) return;
      box.textContent = 'The files could not be compared: ' + e.message;
      this.root.dataset.settled = '1';
      return;
    }
    if (seq !== this.seq) return;
    // The pairs come at once; their responses are compared in the background (a pair
    // is marked changed by its status only until then): ask again until it is done.
    box.textContent = res.error ? 'The responses could not be compared (states from statuses only): ' + res.error
      : res.done ? '' : 'Comparing the responses… (until then a pair is marked changed only when its status differs)';
    this.root.dataset.done = res.done ? '1' : '0';
    if (!res.done) this.poll = setTimeout(() => this.load(), 500);
    this.items = more ? this.items.concat(res.items) : res.items;
    this.total = res.total;
    this.$('cmp-a').textContent = res.a.name;
    this.$('cmp-a').title = `A: ${res.a.name} (${res.a.entries} requests)`;
    this.$('cmp-b').textContent = res.b.name;
    this.$('cmp-b').title = `B: ${res.b.name} (${res.b.entries} requests)`;
    const n = { all: res.counts.pairs, changed: res.counts.changed, a: res.counts.onlyA, b: res.counts.onlyB };
    for (const btn of this.$('cmp-show').querySelectorAll('button')) {
      const on = btn.dataset.show === this.show;
      btn.classList.toggle('on', on);
      btn.setAttribute('aria-pressed', String(on));
      btn.querySelector('.n').textContent = ' ' + n[btn.dataset.show].toLocaleString();
      btn.dataset.count = String(n[btn.dataset.show]);
    }
    this.$('cmp-summary').textContent = `${res.counts.pairs.toLocaleString()} rows: ${res.counts.same.toLocaleString()} same, ${res.counts.changed.toLocaleString()} changed, ${res.counts.onlyA.toLocaleString()} only in A, ${res.counts.onlyB.toLocaleString()} only in B`;
    this.draw();
    this.root.dataset.settled = '1';
  }

  draw() {
    const body = clear(this.$('cmp-rows'));
    for (const it of this.items) body.appendChild(this.row(it));
    if (!this.items.length) body.appendChild(el('tr', { class: 'none' }, el('td', { colspan: '9', class: 'dim', text: 'No requests here.' })));
    const more = this.$('cmp-more');
    more.hidden = this.items.length >= this.total;
    more.textContent = `Show more (${this.items.length.toLocaleString()} of ${this.total.toLocaleString()})`;
  }

  row(it) {
    const a = it.a, b = it.b;
    const differs = (f) => a && b && f(a) !== f(b);
    const status = (r) => r ? (r.failed ? '(failed)' : String(r.status)) : '';
    const cell = (cls, text, diff) => el('td', { class: cls + (diff ? ' diff' : ''), text });
    const url = (b || a).url;
    const tr = el('tr', { class: 'pair st-' + it.state + (this.sel === it.k ? ' selected' : ''), tabindex: '0',
      dataset: { k: String(it.k), state: it.state, a: a ? String(a.i) : '', b: b ? String(b.i) : '' } },
    el('td', { class: 'c-state' }, el('span', { class: 'badge ' + it.state, text: STATE_LABEL[it.state] })),
    el('td', { class: 'c-key', text: it.key, title: url }),
    cell('c-a-status num', status(a), differs(status)),
    cell('c-b-status num', status(b), differs(status)),
    cell('c-a-size num', a ? bytes(a.transferred) : '', differs((r) => r.transferred)),
    cell('c-b-size num', b ? bytes(b.transferred) : '', differs((r) => r.transferred)),
    cell('c-a-time num', a ? ms(a.time) : '', false),
    cell('c-b-time num', b ? ms(b.time) : '', false));
    tr.addEventListener('click', () => this.select(it.k));
    tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') this.select(it.k); });
    return tr;
  }

  async select(k) {
    this.sel = k;
    this.hash();
    for (const tr of this.$('cmp-rows').querySelectorAll('tr.pair')) tr.classList.toggle('selected', Number(tr.dataset.k) === k);
    const d = this.$('cmp-details');
    d.hidden = false;
    delete d.dataset.k;
    clear(d).appendChild(el('div', { class: 'dim', text: 'Loading…' }));
    let p;
    try { p = await getJSON('api/compare/pair?' + this.query({ k: String(k) })); } catch (e) {
      clear(d).appendChild(el('div', { class: 'error', text: e.message }));
      return;
    }
    if (this.sel !== k) return;
    clear(d);
    const close = el('button', { type: 'button', class: 'close', title: 'Close', text: '×' });
    close.addEventListener('click', () => { this.sel = null; this.hash(); d.hidden = true; this.draw(); });
    d.appendChild(el('div', { class: 'd-head' }, el('span', { class: 'badge ' + p.state, text: STATE_LABEL[p.state] }),
      el('span', { class: 'd-url', text: p.key }), close));
    const body = el('div', { class: 'd-body' });
    d.appendChild(body);
    const a = p.a, b = p.b;
    const side = el('table', { class: 'kv side' },
      el('thead', null, el('tr', null, el('th', { text: '' }), el('th', { text: 'A' }), el('th', { text: 'B' }))));
    const tb = el('tbody');
    // Timings differ on every run: shown, not marked (hark diff judges them per endpoint).
    const line = (name, f, cls, judge = true) => {
      const va = a ? f(a) : '–', vb = b ? f(b) : '–';
      tb.appendChild(el('tr', { class: cls + (judge && a && b && va !== vb ? ' diff' : '') },
        el('th', { text: name }), el('td', { class: 'a', text: va }), el('td', { class: 'b', text: vb })));
    };
    line('URL', (r) => r.url, 'f-url');
    line('Status', (r) => (r.failed ? '(failed) ' + (r.error || '') : String(r.status)), 'f-status');
    line('Size', (r) => bytes(r.transferred), 'f-size');
    line('Time', (r) => ms(r.time), 'f-time', false);
    line('Type', (r) => r.type, 'f-type');
    side.appendChild(tb);
    body.appendChild(el('div', { class: 'd-sec' }, el('h3', { text: 'Side by side' }), side));
    const changes = (title, id, list, empty) => {
      const sec = el('div', { class: 'd-sec', id });
      sec.appendChild(el('h3', { text: title }));
      if (!list.length) { sec.appendChild(el('div', { class: 'dim', text: empty })); return sec; }
      const t = el('table', { class: 'kv changes' },
        el('thead', null, el('tr', null, el('th', { text: 'Name' }), el('th', { text: 'A' }), el('th', { text: 'B' }))));
      const rows = el('tbody');
      for (const c of list) {
        rows.appendChild(el('tr', { class: 'change diff ' + c.kind, dataset: { name: c.name, kind: c.kind } },
          el('th', { text: c.name }), el('td', { class: 'a', text: c.a == null ? '(none)' : c.a }),
          el('td', { class: 'b', text: c.b == null ? '(none)' : c.b })));
      }
      t.appendChild(rows);
      sec.appendChild(t);
      return sec;
    };
    if (a && b) {
      body.appendChild(changes('Changed response headers', 'cmp-headers', p.headers, 'No response header changed (volatile ones — Date, ETag, request ids… — are not compared).'));
      body.appendChild(changes('Changed JSON fields', 'cmp-fields', p.body, 'No JSON field changed.'));
      if (p.varies.length) {
        body.appendChild(el('div', { class: 'd-sec' }, el('h3', { text: 'Varying (timestamps, ids, tokens)' }),
          el('div', { class: 'dim varies', text: p.varies.join(', ') })));
      }
    }
    const open = el('div', { class: 'd-sec open-sides' });
    for (const [label, r, file, id] of [['A', a, this.a, 'cmp-open-a'], ['B', b, this.b, 'cmp-open-b']]) {
      if (!r) continue;
      const btn = el('button', { type: 'button', id, title: `All the details of ${label}'s request (headers, bodies, timings…), in its file` }, `Open ${label}'s request`);
      btn.addEventListener('click', () => this.onOpen(file, r.i));
      open.appendChild(btn);
    }
    body.appendChild(open);
    if (!(a && b)) {
      body.appendChild(el('div', { class: 'd-sec dim', text: a ? 'Only in A: B has no request paired with this one.' : 'Only in B: A has no request paired with this one.' }));
    }
    d.dataset.k = String(k);
  }
}
