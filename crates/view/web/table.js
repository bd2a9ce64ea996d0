// The request table: a fixed-height-row virtual list over the server's filtered,
// sorted result. Only the rows in view (and a margin) exist in the DOM; their data is
// fetched from /rows in blocks of BLOCK items.

import { el, clear, bytes, ms, getJSON } from './dom.js';

export const ROW_H = 22;
const BLOCK = 200;
const PHASES = ['blocked', 'dns', 'connect', 'ssl', 'send', 'wait', 'receive'];

export const COLUMNS = [
  { key: 'status', label: 'Status', cls: 'c-status' },
  { key: 'method', label: 'Method', cls: 'c-method' },
  { key: 'domain', label: 'Domain', cls: 'c-domain' },
  { key: 'path', label: 'Path', cls: 'c-path' },
  { key: 'type', label: 'Type', cls: 'c-type' },
  { key: 'initiator', label: 'Initiator', cls: 'c-initiator', title: 'What started the request (Chrome\'s _initiator; the stack is in the details)' },
  { key: 'priority', label: 'Priority', cls: 'c-priority', title: 'Chrome\'s request priority (_priority)' },
  { key: 'size', label: 'Size', cls: 'c-size', title: 'Transferred / decoded (sort: transferred)' },
  { key: 'decoded', label: 'Decoded', cls: 'c-decoded', title: 'Decoded body size' },
  { key: 'time', label: 'Time', cls: 'c-time' },
  { key: 'start', label: 'Waterfall', cls: 'c-wf', title: 'Start time on a shared axis (sort: start)' },
];

export class Table {
  constructor({ scroller, spacer, rows, thead, onSelect, onSort, slowMs = 1000 }) {
    Object.assign(this, { scroller, spacer, rowsEl: rows, thead, onSelect, onSort, slowMs });
    this.blocks = new Map(); // block index -> items array (or a Promise)
    this.total = 0;
    this.gen = 0;
    this.params = '';
    this.axis = null;
    // The waterfall's axis chosen by the page (the whole capture, or the brushed range);
    // null: the matched rows' axis. `zero`: the capture's start, for labels.
    this.viewAxis = null;
    this.zero = null;
    this.pages = [];
    this.selected = null;
    this.sort = { key: 'start', desc: false };
    this.scroller.addEventListener('scroll', () => this.render());
    new ResizeObserver(() => this.render()).observe(this.scroller);
    this.scroller.addEventListener('keydown', (e) => this.key(e));
    this.buildHead();
  }

  buildHead() {
    clear(this.thead);
    for (const c of COLUMNS) {
      const h = el('div', { class: 'cell ' + c.cls + ' sortable', title: c.title || ('Sort by ' + c.label.toLowerCase()), role: 'button', tabindex: '0' }, c.label);
      h.dataset.sort = c.key;
      if (this.sort.key === c.key || (c.key === 'start' && !this.sort.key)) {
        h.classList.add('sorted');
        h.appendChild(el('span', { class: 'arrow', text: this.sort.desc ? ' ▼' : ' ▲' }));
      }
      h.addEventListener('click', () => {
        const desc = this.sort.key === c.key ? !this.sort.desc : (c.key === 'time' || c.key === 'size' || c.key === 'decoded');
        this.onSort(c.key, desc);
      });
      if (c.key === 'start') {
        this.ticks = el('div', { class: 'ticks' });
        h.appendChild(this.ticks);
      }
      this.thead.appendChild(h);
    }
    this.drawTicks();
  }

  setSort(key, desc) {
    this.sort = { key: key || 'start', desc };
    this.buildHead();
  }

  /** A new query: forget cached rows, fetch the first block, keep or reset the scroll. */
  async reset(params, { keepScroll = false } = {}) {
    this.params = params;
    this.gen++;
    this.blocks = new Map();
    if (!keepScroll) this.scroller.scrollTop = 0;
    const first = await this.fetchBlock(Math.floor(this.scroller.scrollTop / ROW_H / BLOCK), this.gen);
    return first;
  }

  async fetchBlock(b, gen) {
    if (this.blocks.has(b)) return this.blocks.get(b);
    const p = getJSON(`${this.base}/rows?${this.params}&offset=${b * BLOCK}&limit=${BLOCK}`).then((res) => {
      if (gen !== this.gen) return null;
      this.blocks.set(b, res.items);
      this.total = res.total;
      this.matched = res.matched;
      this.indexed = res.indexed;
      this.lastMs = res.ms;
      this.axis = res.axis;
      this.spacer.style.height = (this.total * ROW_H) + 'px';
      this.render();
      this.drawTicks();
      if (this.onData) this.onData(res);
      return res;
    }, (err) => {
      if (gen === this.gen) {
        // A query the server refuses (a bad regex): an empty table until the next one.
        this.blocks.set(b, []);
        this.total = 0;
        this.spacer.style.height = '0px';
        clear(this.rowsEl);
      }
      throw err;
    });
    this.blocks.set(b, p);
    return p;
  }

  visibleRange() {
    const top = this.scroller.scrollTop;
    const h = this.scroller.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_H) - 5);
    const last = Math.min(this.total, Math.ceil((top + h) / ROW_H) + 5);
    return [first, last];
  }

  render() {
    const [first, last] = this.visibleRange();
    const frag = document.createDocumentFragment();
    for (let i = first; i < last; i++) {
      const b = Math.floor(i / BLOCK);
      const blk = this.blocks.get(b);
      if (!blk) { this.fetchBlock(b, this.gen).catch(() => {}); }
      const item = Array.isArray(blk) ? blk[i - b * BLOCK] : null;
      frag.appendChild(this.rowEl(i, item));
    }
    clear(this.rowsEl);
    this.rowsEl.appendChild(frag);
    this.drawTicks();
  }

  rowEl(pos, item) {
    const r = el('div', { class: 'row', role: 'row' });
    r.style.top = (pos * ROW_H) + 'px';
    if (!item) { r.classList.add('loading'); r.appendChild(el('div', { class: 'cell', text: '…' })); return r; }
    if (item.pageHeader) {
      r.classList.add('page-header');
      r.appendChild(el('div', { class: 'cell page-title', title: item.title },
        el('span', { class: 'page-name', text: item.title || '(untitled page)' }),
        item.onContentLoad != null ? el('span', { class: 'dcl', text: ' DOMContentLoaded ' + ms(item.onContentLoad) }) : null,
        item.onLoad != null ? el('span', { class: 'load', text: ' Load ' + ms(item.onLoad) }) : null));
      return r;
    }
    r.dataset.i = item.i;
    const err = item.status >= 400 || item.failed || item.blocked;
    if (err) r.classList.add('error');
    if (item.failed) r.classList.add('failed');
    if (item.blocked) r.classList.add('blocked');
    if (item.time >= this.slowMs) r.classList.add('slow');
    if (this.selected === item.i) r.classList.add('selected');
    const status = item.failed ? (item.blocked ? '(blocked)' : '(failed)') : (item.status > 0 ? String(item.status) : '–');
    r.append(
      el('div', { class: 'cell c-status', title: item.error || undefined },
        item.marks ? el('span', { class: 'mark ' + (item.markSeverity || ''), title: item.marks.join('\n'), 'aria-label': 'findings: ' + item.marks.join('; ') }) : null,
        status),
      el('div', { class: 'cell c-method', text: item.method }),
      el('div', { class: 'cell c-domain', title: item.domain, text: item.domain }),
      el('div', { class: 'cell c-path', title: item.url, text: item.path }),
      el('div', { class: 'cell c-type', title: item.mime, text: item.type }),
      el('div', { class: 'cell c-initiator', title: item.initiator || undefined, text: item.initiator || '' }),
      el('div', { class: 'cell c-priority', text: item.priority || '' }),
      el('div', { class: 'cell c-size num', title: `transferred ${bytes(item.transferred)}, decoded ${bytes(item.decoded)}`, text: bytes(item.transferred) }),
      el('div', { class: 'cell c-decoded num', text: bytes(item.decoded) }),
      el('div', { class: 'cell c-time num', text: ms(item.time) }),
      this.waterfall(item),
    );
    r.addEventListener('click', () => this.select(item.i));
    return r;
  }

  /** Start-to-end bar on the shared axis, split into the timing phases. */
  waterfall(item) {
    const cell = el('div', { class: 'cell c-wf' });
    const ax = this.fullAxis();
    if (!ax || item.start == null) return cell;
    const span = Math.max(ax.end - ax.origin, 1);
    const pct = (t) => Math.max(0, Math.min(100, (t - ax.origin) / span * 100));
    for (const m of this.markers()) {
      const line = el('div', { class: 'marker ' + m.cls });
      line.style.left = pct(m.at) + '%';
      cell.appendChild(line);
    }
    const bar = el('div', { class: 'wbar' });
    const left = pct(item.start);
    const width = Math.max(pct(item.start + Math.max(item.time, 0)) - left, 0.15);
    bar.style.left = left + '%';
    bar.style.width = width + '%';
    const phases = item.timings || [];
    const total = phases.reduce((a, t, k) => a + (t > 0 && k !== 3 ? t : 0), 0);
    if (total > 0) {
      PHASES.forEach((name, k) => {
        const t = phases[k];
        if (k === 3 || !(t > 0)) return; // ssl is part of connect
        const seg = el('div', { class: 'seg ' + name });
        seg.style.width = (t / total * 100) + '%';
        bar.appendChild(seg);
      });
    } else {
      bar.classList.add('plain');
    }
    bar.title = `start +${ms(item.start - (this.zero ?? ax.origin))}, ${ms(item.time)}`;
    cell.appendChild(bar);
    return cell;
  }

  /** The matched rows' axis, stretched to show the page markers that fall near it. */
  fullAxis() {
    if (this.viewAxis) return this.viewAxis;
    const ax = this.axis;
    if (!ax) return null;
    let end = ax.end;
    for (const m of this.markers()) if (m.at > end && m.at < ax.end + (ax.end - ax.origin)) end = m.at;
    return { origin: ax.origin, end };
  }

  markers() {
    const out = [];
    for (const p of this.pages.slice(0, 50)) {
      if (p.start == null) continue;
      if (p.onContentLoad != null) out.push({ cls: 'dcl', at: p.start + p.onContentLoad });
      if (p.onLoad != null) out.push({ cls: 'load', at: p.start + p.onLoad });
    }
    return out;
  }

  drawTicks() {
    if (!this.ticks) return;
    clear(this.ticks);
    const ax = this.fullAxis();
    if (!ax) return;
    const span = ax.end - ax.origin;
    const from = ax.origin - (this.zero ?? ax.origin);
    const wide = this.ticks.parentElement && this.ticks.parentElement.clientWidth > 260;
    for (const k of wide ? [2, 4] : [4]) {
      const t = el('span', { class: 'tick' + (k === 4 ? ' last' : ''), text: ms(from + span * k / 4) });
      t.style.left = (k * 25) + '%';
      this.ticks.appendChild(t);
    }
  }

  select(i, { scroll = false } = {}) {
    this.selected = i;
    for (const r of this.rowsEl.children) r.classList.toggle('selected', r.dataset.i !== undefined && Number(r.dataset.i) === i);
    if (scroll) this.scrollTo(i);
    this.onSelect(i);
  }

  scrollTo(i) {
    for (const [b, items] of this.blocks) {
      if (!Array.isArray(items)) continue;
      const k = items.findIndex((it) => it && it.i === i);
      if (k >= 0) {
        const pos = b * BLOCK + k;
        const top = pos * ROW_H;
        if (top < this.scroller.scrollTop || top > this.scroller.scrollTop + this.scroller.clientHeight - ROW_H) {
          this.scroller.scrollTop = Math.max(0, top - this.scroller.clientHeight / 3);
        }
        return;
      }
    }
  }

  /** Arrow keys move the selection through the rows in view order. */
  key(e) {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    e.preventDefault();
    const order = [];
    for (const [b, items] of [...this.blocks].sort((x, y) => x[0] - y[0])) {
      if (!Array.isArray(items)) continue;
      items.forEach((it, k) => { if (it && !it.pageHeader) order.push([b * BLOCK + k, it.i]); });
    }
    let at = order.findIndex(([, i]) => i === this.selected);
    at = e.key === 'ArrowDown' ? Math.min(order.length - 1, at + 1) : Math.max(0, at - 1);
    if (order[at]) this.select(order[at][1], { scroll: true });
  }
}
