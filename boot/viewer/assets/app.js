// RayOS viewer page. Talks to the engine over one WebSocket (/ws): JSON
// messages with a "t" type, and binary frame deltas (docs/viewer.md).
// window.rayos exposes the page's state for people and browser tests.
'use strict';

const $ = (id) => document.getElementById(id);
const KINDS = ['RAYOS_BOOT', 'RAYOS_POLICY_VIOLATION', 'RAYOS_HOST_EVENT_V0', 'RAYOS_HOST_ACK', 'RAYOS_GUEST', 'RAYOS_AUDIT', 'RAYOS_INTENT'];
const MAX_MARKERS = 1000;

const rayos = {
  hello: null, state: null, placement: null,
  frame: { version: 0, width: 0, height: 0, deltas: 0, bytes: 0 },
  markers: [], acks: [], errors: [],
  // action sends an action (present, hide, start, shutdown, confirm,
  // cancel) and resolves with its final ACK message.
  action(op, arg) { return request({ t: 'action', op, arg: String(arg) }, 'ack'); },
  // query asks the engine (entities, entity, task) and resolves with the reply's data.
  query(q) { return request(Object.assign({ t: 'query' }, q), 'reply').then((m) => m.data); },
  control(op, extra) { send(Object.assign({ t: 'control', op }, extra || {})); },
};
window.rayos = rayos;

let ws = null;
let nextId = 1;
const waiting = new Map(); // message id → {resolve, reject, want}
let token = sessionStorage.getItem('rayos-token') || '';

// The token arrives in the page's URL once; keep it for this tab and take
// it out of the address bar (and history).
(function takeToken() {
  const params = new URLSearchParams(location.search);
  if (params.has('token')) {
    token = params.get('token');
    sessionStorage.setItem('rayos-token', token);
    params.delete('token');
    const q = params.toString();
    history.replaceState(null, '', location.pathname + (q ? '?' + q : ''));
  }
})();

function send(msg) {
  if (!ws || ws.readyState !== WebSocket.OPEN) { showError('not connected'); return false; }
  ws.send(JSON.stringify(msg));
  return true;
}

function request(msg, want) {
  msg.id = nextId++;
  return new Promise((resolve, reject) => {
    if (!send(msg)) { reject(new Error('not connected')); return; }
    waiting.set(msg.id, { resolve, reject, want });
  });
}

function showError(text) {
  const e = $('error');
  e.textContent = text;
  e.hidden = !text;
}

function connect() {
  // No token in the URL: the cookie the page's response set carries it
  // (a URL is shown in the console's errors and kept in logs); without
  // that cookie, hello says so and the token goes in an auth message.
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
  ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  setConn('connecting', 'connecting…');
  ws.onopen = () => setConn('open', 'connected');
  ws.onclose = (ev) => {
    setConn('closed', ev.reason ? 'disconnected: ' + ev.reason : 'disconnected');
    for (const [, w] of waiting) w.reject(new Error('disconnected'));
    waiting.clear();
    setTimeout(connect, 1500);
  };
  ws.onmessage = (ev) => {
    if (typeof ev.data !== 'string') { applyFrame(ev.data); return; }
    let m;
    try { m = JSON.parse(ev.data); } catch (err) { showError('bad message from the engine: ' + err); return; }
    (handlers[m.t] || (() => {}))(m);
  };
}

function setConn(state, text) {
  const c = $('conn');
  c.dataset.state = state;
  c.textContent = text;
}

const handlers = {
  hello(m) {
    rayos.hello = m;
    $('mode').dataset.mode = m.mode;
    $('mode').textContent = m.mode + (m.remote ? ' (remote)' : '');
    $('controls').hidden = !m.control;
    $('scrub').hidden = !m.seek;
    const auth = $('auth-state');
    auth.dataset.authorized = String(m.authorized);
    auth.textContent = m.authorized ? (m.actions ? 'actions allowed' : 'token accepted') : 'read-only';
    if (!m.authorized && token) send({ t: 'auth', token });
    if (!$('frames-on').checked) send({ t: 'frames', on: false });
    if (rayos.input) rayos.input.refresh();
  },
  error(m) {
    rayos.errors.push(m);
    const w = waiting.get(m.id);
    if (w) { waiting.delete(m.id); w.reject(new Error(m.error)); }
    showError(m.error);
  },
  ack(m) {
    rayos.acks.push(m);
    const li = document.createElement('li');
    li.dataset.id = m.id;
    li.dataset.ok = String(m.ok);
    li.dataset.notice = String(m.notice);
    li.textContent = m.line;
    $('acks').prepend(li);
    const w = waiting.get(m.id);
    if (w && !m.notice) { waiting.delete(m.id); w.resolve(m); }
  },
  reply(m) {
    const w = waiting.get(m.id);
    if (w) { waiting.delete(m.id); w.resolve(m); }
  },
  reset() {
    rayos.markers = [];
    $('markers').textContent = '';
    rayos.frame.version = 0;
  },
  markers(m) {
    if (m.history) { rayos.markers = []; $('markers').textContent = ''; }
    const list = $('markers');
    const frag = document.createDocumentFragment();
    for (const it of m.items) {
      rayos.markers.push(it);
      const li = document.createElement('li');
      li.dataset.kind = it.kind;
      li.dataset.tick = it.tick;
      li.dataset.seq = it.seq;
      if (!markerShown(it.kind)) li.classList.add('hidden');
      // The text is the marker line alone; the tick is drawn before it
      // from data-tick (app.css).
      li.textContent = it.line;
      frag.prepend(li);
    }
    list.prepend(frag);
    while (list.children.length > MAX_MARKERS) list.lastElementChild.remove();
    if (rayos.markers.length > MAX_MARKERS) rayos.markers.splice(0, rayos.markers.length - MAX_MARKERS);
    const count = $('marker-count');
    count.dataset.count = String(rayos.markers.length);
    count.textContent = String(rayos.markers.length);
  },
  state(m) {
    rayos.state = m;
    const tick = $('tick');
    tick.dataset.tick = m.tick;
    tick.textContent = m.tick;
    $('rate').dataset.rate = m.rate.toFixed(1);
    $('rate').textContent = m.rate.toFixed(1);
    $('paused').hidden = !m.paused;
    const ec = $('entity-count');
    ec.dataset.count = m.entities;
    ec.textContent = m.entities;
    $('scene').textContent = `scene ${m.scene}, seed ${m.seed}, ${m.hz} Hz` + (m.ended ? ' · run ended' : '');
    renderKinds(m.kinds);
    renderGuests(m);
    renderTimings(m);
    const lc = m.gpu.last_compose || {};
    const composed = lc.tick
      ? `; last composition tick ${lc.tick}: ${lc.tiles} tiles, ${lc.pixels} px recomposed` + (lc.device_ns ? `, ${ms(lc.device_ns)} on the device` : '')
      : '; nothing composed yet';
    const gi = $('gpu-info');
    gi.textContent = `GPU ${m.gpu.backend || '–'} ${m.gpu.device || ''}: last tick up ${m.gpu.upload} B, read ${m.gpu.read} B` + composed;
    gi.dataset.composeTick = String(lc.tick || 0);
    gi.dataset.composePixels = String(lc.pixels || 0);
    $('viewer-info').textContent = `viewer: ${m.viewer.clients} client(s), markers missed ${m.viewer.markers_missed}`;
    if (m.end) {
      const seek = $('seek');
      seek.max = m.end;
      if (document.activeElement !== seek) seek.value = m.tick;
      $('seek-label').textContent = `${m.tick} / ${m.end}`;
    }
    if (!m.frame.version && !rayos.frame.version) $('frame-info').textContent = 'no frame yet: the first composition is read back two ticks after the world starts';
    drawOverlay();
  },
  placement(m) {
    rayos.placement = m;
    $('placement-info').textContent = `${m.devices.length} devices, ${m.tasks.length} of ${m.task_count} tasks shown`;
    drawPlacement();
  },
};

// ---- frame ----------------------------------------------------------------

let image = null;

function applyFrame(buf) {
  const v = new DataView(buf);
  if (buf.byteLength < 36 || String.fromCharCode(v.getUint8(0), v.getUint8(1), v.getUint8(2), v.getUint8(3)) !== 'RFT1') return;
  const version = Number(v.getBigUint64(4, true));
  const width = v.getUint16(20, true), height = v.getUint16(22, true);
  const tilesX = v.getUint16(24, true), size = v.getUint16(28, true);
  const count = v.getUint32(32, true);
  const canvas = $('frame');
  if (!image || image.width !== width || image.height !== height) {
    for (const c of [canvas, $('overlay')]) { c.width = width; c.height = height; }
    image = new ImageData(width, height);
  }
  const px = image.data;
  let p = 36, x0 = width, y0 = height, x1 = 0, y1 = 0;
  for (let n = 0; n < count; n++) {
    const t = v.getUint32(p, true), kind = v.getUint8(p + 4);
    p += 5;
    const tx = (t % tilesX) * size, ty = Math.floor(t / tilesX) * size;
    const w = Math.min(size, width - tx), h = Math.min(size, height - ty);
    x0 = Math.min(x0, tx); y0 = Math.min(y0, ty); x1 = Math.max(x1, tx + w); y1 = Math.max(y1, ty + h);
    if (kind === 0) {
      const r = v.getUint8(p), g = v.getUint8(p + 1), b = v.getUint8(p + 2), a = v.getUint8(p + 3);
      for (let y = 0; y < h; y++) {
        let o = ((ty + y) * width + tx) * 4;
        for (let x = 0; x < w; x++, o += 4) { px[o] = r; px[o + 1] = g; px[o + 2] = b; px[o + 3] = a; }
      }
      p += 4;
    } else {
      const src = new Uint8Array(buf, p, size * size * 4);
      for (let y = 0; y < h; y++) px.set(src.subarray(y * size * 4, (y * size + w) * 4), ((ty + y) * width + tx) * 4);
      p += size * size * 4;
    }
  }
  if (x1 > x0) canvas.getContext('2d').putImageData(image, 0, 0, x0, y0, x1 - x0, y1 - y0);
  const f = rayos.frame;
  f.version = version; f.width = width; f.height = height; f.deltas++; f.bytes += buf.byteLength;
  const info = $('frame-info');
  info.dataset.version = String(version);
  info.textContent = `${width}×${height}, version ${version}, last delta ${count} tiles, ${buf.byteLength} bytes`;
  drawOverlay();
}

function drawOverlay() {
  const s = rayos.state, c = $('overlay');
  if (!s || !c.width) return;
  const g = c.getContext('2d');
  g.clearRect(0, 0, c.width, c.height);
  if ($('show-outlines').checked) {
    for (const sf of s.surfaces || []) {
      g.lineWidth = sf.focused ? 6 : 2;
      g.strokeStyle = sf.focused ? '#f0c040' : (sf.guest ? 'rgba(120,200,255,.8)' : 'rgba(255,255,255,.35)');
      g.strokeRect(sf.x, sf.y, sf.w, sf.h);
      if (sf.guest) { g.fillStyle = 'rgba(120,200,255,.9)'; g.font = '20px sans-serif'; g.fillText(sf.guest, sf.x + 6, sf.y + sf.h - 8); }
    }
  }
  if ($('show-rays').checked) {
    for (const r of s.rays || []) {
      g.fillStyle = `rgba(255,80,200,${Math.min(1, 0.25 + r.weight)})`;
      g.beginPath(); g.arc(r.x, r.y, 6, 0, Math.PI * 2); g.fill();
    }
  }
}

// ---- world summary, guests, timings -----------------------------------------

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function renderKinds(kinds) {
  const body = $('kinds').tBodies[0];
  body.textContent = '';
  const select = $('entity-kind');
  const known = new Set(Array.from(select.options, (o) => o.value));
  for (const k of kinds) {
    if (!k.count) continue;
    const tr = body.insertRow();
    tr.dataset.kind = k.name;
    cell(tr, k.name);
    cell(tr, String(k.count));
    if (!known.has(k.name)) select.add(new Option(k.name, k.name));
  }
}

const ACTIONS = ['present', 'hide', 'start', 'shutdown'];

// renderedGuests is what the guests table and the pending list show now.
// They are rebuilt only when that changes: rebuilding them on every state
// message would replace a button between a person's mouse-down and
// mouse-up, and the click would be lost.
let renderedGuests = '';

function renderGuests(s) {
  $('policy').textContent = 'policy: ' + s.policy;
  const live = rayos.hello && rayos.hello.actions;
  const key = JSON.stringify([live, s.guests || [], s.pending || []]);
  if (key === renderedGuests) return;
  renderedGuests = key;
  const body = $('guests').tBodies[0];
  body.textContent = '';
  for (const gu of s.guests || []) {
    const tr = body.insertRow();
    tr.dataset.guest = gu.id;
    cell(tr, `${gu.id} (${gu.os})`);
    const st = cell(tr, gu.state + (gu.ready ? ', ready' : ''), 'state');
    st.dataset.state = gu.state;
    const pr = cell(tr, gu.presented ? 'yes' : 'no', 'presented');
    pr.dataset.presented = String(gu.presented);
    const acts = cell(tr, '');
    const byAction = new Map((gu.decisions || []).map((d) => [d.action, d]));
    for (const a of ACTIONS) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = a;
      b.dataset.action = a;
      b.dataset.guest = gu.id;
      b.disabled = !live;
      const d = byAction.get(a);
      if (d) b.title = d.why;
      acts.append(b, ' ');
    }
    const dec = cell(tr, '', 'decisions');
    for (const d of gu.decisions || []) {
      const span = document.createElement('span');
      span.className = d.verdict;
      span.dataset.action = d.action;
      span.dataset.verdict = d.verdict;
      span.title = d.why;
      span.textContent = `${d.action}: ${d.verdict} (${d.rule}) `;
      dec.append(span);
    }
  }
  const pending = $('pending');
  pending.textContent = '';
  for (const p of s.pending || []) {
    const li = document.createElement('li');
    li.dataset.source = p.source;
    li.append(`${p.source} ${p.action} ${p.guest} rule=${p.rule} expires=${p.expires} `);
    for (const a of ['confirm', 'cancel']) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = a;
      b.dataset.action = a;
      b.dataset.arg = String(p.source);
      b.disabled = !live;
      li.append(b, ' ');
    }
    pending.append(li);
  }
}

document.addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-action]');
  if (!b) return;
  const arg = b.dataset.guest || b.dataset.arg;
  rayos.action(b.dataset.action, arg).then(() => showError(''), (err) => showError(`${b.dataset.action} ${arg}: ${err.message}`));
});

const history_ = []; // per state: each system's last duration
const COLOURS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac', '#86bcb6', '#d37295', '#8cd17d'];

function ms(ns) { return (ns / 1e6).toFixed(3) + ' ms'; }

function renderTimings(s) {
  const body = $('timings').tBodies[0];
  body.textContent = '';
  s.systems.forEach((sys, i) => {
    const tr = body.insertRow();
    tr.dataset.system = sys.name;
    const name = cell(tr, sys.name);
    name.style.color = COLOURS[i % COLOURS.length];
    cell(tr, ms(sys.last)); cell(tr, ms(sys.mean)); cell(tr, ms(sys.max));
  });
  const tr = body.insertRow();
  tr.dataset.system = 'tick';
  cell(tr, 'whole tick'); cell(tr, ms(s.tick_ns.last)); cell(tr, ms(s.tick_ns.mean)); cell(tr, ms(s.tick_ns.max));
  history_.push(s.systems.map((x) => x.last));
  if (history_.length > 120) history_.shift();
  const c = $('timings-chart'), g = c.getContext('2d');
  g.clearRect(0, 0, c.width, c.height);
  const top = Math.max(1, ...history_.map((h) => h.reduce((a, b) => a + b, 0)));
  const bw = c.width / 120;
  history_.forEach((h, x) => {
    let y = c.height;
    h.forEach((v, i) => {
      const bh = v / top * (c.height - 14);
      g.fillStyle = COLOURS[i % COLOURS.length];
      g.fillRect(x * bw, y - bh, Math.max(1, bw - 1), bh);
      y -= bh;
    });
  });
  g.fillStyle = '#8a90a6';
  g.font = '11px sans-serif';
  g.fillText('stacked per-system time per tick, top = ' + ms(top), 4, 11);
}

// ---- markers ----------------------------------------------------------------

const hiddenKinds = new Set();
function markerShown(kind) { return !hiddenKinds.has(kind); }

(function markerFilters() {
  const box = $('marker-filters');
  for (const k of KINDS) {
    const label = document.createElement('label');
    const cb = document.createElement('input');
    cb.type = 'checkbox';
    cb.checked = true;
    cb.id = 'filter-' + k;
    cb.dataset.filterKind = k;
    cb.addEventListener('change', () => {
      if (cb.checked) hiddenKinds.delete(k); else hiddenKinds.add(k);
      for (const li of $('markers').children) li.classList.toggle('hidden', !markerShown(li.dataset.kind));
    });
    label.append(cb, ' ' + k.replace('RAYOS_', '').toLowerCase());
    box.append(label);
  }
})();

// ---- entities ---------------------------------------------------------------

const browse = { offset: 0, next: 0, stack: [] };

function showEntities(offset) {
  const kind = $('entity-kind').value, search = $('entity-search').value;
  rayos.query({ q: 'entities', kind, search, offset, limit: 50 }).then((r) => {
    browse.offset = r.offset; browse.next = r.next;
    const body = $('entity-list').tBodies[0];
    body.textContent = '';
    for (const row of r.rows) {
      const tr = body.insertRow();
      tr.dataset.entity = `${row.entity.id}:${row.entity.gen}`;
      cell(tr, `#${row.entity.id}` + (row.entity.gen ? `.${row.entity.gen}` : ''));
      cell(tr, row.kinds.join(' '));
      cell(tr, row.label);
    }
    $('entity-range').textContent = `${r.offset}…${r.next} of ${r.total}` + (r.search ? ` (searched ${r.scanned})` : '') + (r.more ? '' : ' · end');
    $('entity-next').disabled = !r.more;
    $('entity-prev').disabled = browse.stack.length === 0;
  }, (err) => showError('entities: ' + err.message));
}

$('entity-go').addEventListener('click', () => { browse.stack = []; showEntities(0); });
$('entity-search').addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { browse.stack = []; showEntities(0); } });
$('entity-next').addEventListener('click', () => { browse.stack.push(browse.offset); showEntities(browse.next); });
$('entity-prev').addEventListener('click', () => { showEntities(browse.stack.pop() || 0); });
$('entity-list').addEventListener('click', (ev) => {
  const tr = ev.target.closest('tr[data-entity]');
  if (!tr) return;
  for (const r of tr.parentNode.children) r.classList.toggle('selected', r === tr);
  const [id, gen] = tr.dataset.entity.split(':').map(Number);
  rayos.query({ q: 'entity', entity: { id, gen } }).then((e) => {
    $('entity-detail').textContent = JSON.stringify(e.components, null, 2);
    if (e.kinds.includes('ComputeTask')) explainTask({ id, gen });
  }, (err) => { $('entity-detail').textContent = err.message; });
});

// ---- placement map ------------------------------------------------------------

let mapView = null; // how the last drawing mapped fabric space to pixels

function drawPlacement() {
  const p = rayos.placement, c = $('placement-map');
  if (!p) return;
  const g = c.getContext('2d');
  g.clearRect(0, 0, c.width, c.height);
  const pts = p.devices.map((d) => d.pos).concat(p.tasks.map((t) => t.pos));
  if (!pts.length) return;
  // Top-down: x across, z down (devices stand on the floor, y is height).
  let minX = Infinity, maxX = -Infinity, minZ = Infinity, maxZ = -Infinity;
  for (const q of pts) { minX = Math.min(minX, q[0]); maxX = Math.max(maxX, q[0]); minZ = Math.min(minZ, q[2]); maxZ = Math.max(maxZ, q[2]); }
  const pad = 16, sx = (c.width - 2 * pad) / Math.max(1e-3, maxX - minX), sz = (c.height - 2 * pad) / Math.max(1e-3, maxZ - minZ);
  const sc = Math.min(sx, sz);
  const at = (q) => [pad + (q[0] - minX) * sc, pad + (q[2] - minZ) * sc];
  mapView = { at };
  const byId = new Map(p.devices.map((d) => [d.entity.id, d]));
  g.lineWidth = 1;
  for (const t of p.tasks) {
    const [x, y] = at(t.pos);
    const d = byId.get(t.device);
    if (d) {
      const [dx, dy] = at(d.pos);
      g.strokeStyle = 'rgba(140,150,180,.15)';
      g.beginPath(); g.moveTo(x, y); g.lineTo(dx, dy); g.stroke();
    }
    g.fillStyle = t.device ? '#9aa3bd' : '#e05a5a';
    g.fillRect(x - 1.5, y - 1.5, 3, 3);
  }
  const byTemp = $('placement-colour').value === 'temperature';
  for (const d of p.devices) {
    const [x, y] = at(d.pos);
    const f = byTemp ? (d.temperature - 30) / 55 : d.load / Math.max(1e-6, d.capacity);
    g.fillStyle = heat(f);
    const s = 4 + Math.min(10, Math.sqrt(d.capacity));
    g.fillRect(x - s / 2, y - s / 2, s, s);
  }
}

function heat(f) {
  f = Math.max(0, Math.min(1, f));
  return `hsl(${(1 - f) * 120},80%,55%)`;
}

$('placement-colour').addEventListener('change', drawPlacement);
$('placement-map').addEventListener('click', (ev) => {
  const p = rayos.placement, c = ev.currentTarget;
  if (!p || !mapView) return;
  const r = c.getBoundingClientRect();
  const x = (ev.clientX - r.left) * c.width / r.width, y = (ev.clientY - r.top) * c.height / r.height;
  let best = null, bestD = 64;
  for (const t of p.tasks) {
    const [tx, ty] = mapView.at(t.pos);
    const d = (tx - x) ** 2 + (ty - y) ** 2;
    if (d < bestD) { best = t; bestD = d; }
  }
  if (best) explainTask(best.entity);
});

// MOVE_REASONS are components.MigrationReasonNames, by number.
const MOVE_REASONS = ['', 'placed', 'cheaper', 'overload', 'thermal', 'policy', 'device-gone'];

function terms(p) {
  return `cost ${p.cost.toFixed(3)} = locality ${p.locality.toFixed(3)} + load ${p.load.toFixed(3)} + thermal ${p.thermal.toFixed(3)} + energy ${p.energy.toFixed(3)} + priority ${p.priority.toFixed(3)}`;
}

function explainTask(ref) {
  rayos.query({ q: 'task', entity: ref }).then((t) => {
    const lines = [`${t.name || 'task'} #${t.entity.id}: demand ${t.task.demand} priority ${t.task.priority} class ${t.task.class}`];
    lines.push(t.placement.device ? `placed on device #${t.placement.device} at tick ${t.placement.tick}: ${terms(t.placement)}` : 'unplaced');
    if (t.stay) lines.push(`staying now: ${terms(t.stay)}`);
    lines.push(t.runner_up ? `runner-up: device #${t.runner_up.device.entity.id}: ${terms(t.runner_up.terms)}` : 'runner-up: none (fits nowhere else)');
    lines.push(`${t.fits} of ${t.evaluated} devices fit it`);
    const m = t.migration;
    if (m) lines.push(`last move at tick ${m.tick}${m.from ? ` from device #${m.from}` : ''}: ${MOVE_REASONS[m.reason] || m.reason}`);
    $('task-detail').textContent = lines.join('\n');
  }, (err) => { $('task-detail').textContent = err.message; });
}

// ---- header controls ------------------------------------------------------------

$('pause').addEventListener('click', () => rayos.control('pause'));
$('resume').addEventListener('click', () => rayos.control('resume'));
$('step').addEventListener('click', () => rayos.control('step', { count: 1 }));
$('seek').addEventListener('change', (ev) => rayos.control('seek', { tick: Number(ev.target.value) }));
$('frames-on').addEventListener('change', (ev) => send({ t: 'frames', on: ev.target.checked }));
$('show-outlines').addEventListener('change', drawOverlay);
$('show-rays').addEventListener('change', drawOverlay);
$('token-apply').addEventListener('click', () => {
  token = $('token').value.trim();
  $('token').value = '';
  sessionStorage.setItem('rayos-token', token);
  send({ t: 'auth', token });
});

connect();
