// The emulator's web console: plain JavaScript over the admin API (/_emulator/*) and the
// console's own routes (/_emulator/console/*). No build step, no network beyond this server.
'use strict';

const API = '/_emulator';
const state = { tab: 'tasks', namespace: '', task: null, bucket: null, queue: null, journalSeq: 0 };

const $ = (sel) => document.querySelector(sel);
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) node.setAttribute(k, v);
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}
function qs(params) {
  const entries = Object.entries(params).filter(([, v]) => v !== '' && v !== undefined && v !== null);
  return entries.length ? '?' + new URLSearchParams(entries).toString() : '';
}
async function api(method, path, body, raw) {
  const init = { method, headers: {} };
  if (raw !== undefined) { init.body = raw; init.headers['Content-Type'] = body || 'application/octet-stream'; }
  else if (body !== undefined) { init.body = JSON.stringify(body); init.headers['Content-Type'] = 'application/json'; }
  const response = await fetch(API + path, init);
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.error ? `${answer.error}${answer.field ? ` (${answer.field})` : ''}` : `HTTP ${response.status}`);
  return answer;
}
const ns = () => ({ namespace: state.namespace });
function fill(tbody, rows) { tbody.replaceChildren(...rows); }
function bytes(n) { return n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`; }
function contentUrl(bucket, key, download) {
  return `${API}/console/buckets/${encodeURIComponent(bucket)}/content${qs({ key, namespace: state.namespace, download: download ? 1 : '' })}`;
}
function preview(url, kind) {
  if (kind === 'image') return el('img', { src: url, alt: 'preview', class: 'output-preview' });
  if (kind === 'video') return el('video', { src: url, controls: '', muted: '', loop: '', class: 'output-preview' });
  return null;
}
function kindOf(key, type) {
  if (/^image\//.test(type) || /\.(gif|webp|jpe?g|png)$/i.test(key)) return 'image';
  if (/^video\//.test(type) || /\.(mp4|mov|webm)$/i.test(key)) return 'video';
  return 'file';
}

// ---- header: version, namespaces, clock ---------------------------------------------------
async function loadHeader() {
  const health = await api('GET', '/health');
  $('#version').textContent = `v${health.version}`;
  const { namespaces } = await api('GET', '/namespaces');
  const select = $('#namespace');
  const current = state.namespace || (namespaces[0] && namespaces[0].namespace) || '';
  select.replaceChildren(...namespaces.map((n) => el('option', { value: n.namespace }, n.namespace)));
  select.value = current;
  state.namespace = current;
}
async function loadClock() {
  const clock = await api('GET', '/clock');
  $('#clock-now').textContent = clock.now + (clock.frozen ? ' (frozen)' : '');
  $('#clock-value').textContent = clock.now;
  $('#clock-frozen').textContent = clock.frozen ? 'frozen' : 'running';
}

// ---- tasks --------------------------------------------------------------------------------
async function loadTasks() {
  const { tasks } = await api('GET', '/tasks' + qs(ns()));
  fill($('#tasks-table tbody'), tasks.map((t) => el('tr', {
    class: 'clickable' + (t.task_id === state.task ? ' selected' : ''), 'data-task': t.task_id,
    onclick: () => { state.task = t.task_id; loadTasks(); loadTask(); },
  }, el('td', {}, t.service), el('td', {}, t.task_id), el('td', { class: `status-${t.status}` }, t.status),
  el('td', {}, t.progress === undefined ? '' : el('progress', { max: 100, value: t.progress })), el('td', {}, t.submitted))));
  if (state.task) await loadTask();
}
async function loadTask() {
  const detail = await api('GET', `/console/tasks/${encodeURIComponent(state.task)}` + qs(ns()));
  const t = detail.task;
  const box = $('#task-detail');
  const previews = detail.outputs.map((o) => el('div', { class: 'preview' },
    el('div', {}, o.uri, ' ', o.url ? el('a', { href: o.url + '&download=1' }, 'download') : null),
    o.url ? preview(o.url, o.kind) : null));
  // Keep playing videos and loaded images: only rebuild when something changed.
  const signature = JSON.stringify([t.status, t.progress, detail.events.length, detail.outputs.length]);
  if (box.dataset.signature === signature && box.dataset.task === t.task_id) return;
  box.dataset.signature = signature;
  box.dataset.task = t.task_id;
  box.replaceChildren(...[
    el('h2', {}, `${t.service} task ${t.task_id}`),
    el('p', {}, 'status ', el('strong', { class: `status-${t.status}`, id: 'task-status' }, t.status),
      t.progress !== undefined ? [' ', el('progress', { max: 100, value: t.progress }), ` ${t.progress}%`] : null,
      t.code ? ` ${t.code}` : ''),
    el('h3', {}, 'Outputs'), previews.length ? previews : el('p', { class: 'hint' }, 'none yet'),
    el('h3', {}, 'Timeline'),
    el('ul', { class: 'timeline' }, detail.events.map((e) => {
      const { time, event, service, task_id, ...rest } = e;
      return el('li', {}, `${time} ${event} ${Object.keys(rest).length ? JSON.stringify(rest) : ''}`);
    })),
    el('h3', {}, 'Request'), el('pre', {}, JSON.stringify(detail.request, null, 2))].flat());
}

// ---- buckets and objects ------------------------------------------------------------------
async function loadBuckets() {
  const { buckets } = await api('GET', '/console/buckets' + qs(ns()));
  if (state.bucket && !buckets.some((b) => b.name === state.bucket)) state.bucket = null;
  fill($('#bucket-list'), buckets.map((b) => el('li', {
    class: b.name === state.bucket ? 'selected' : '', 'data-bucket': b.name,
    onclick: () => { state.bucket = b.name; $('#object-prefix').value = ''; loadBuckets(); },
  }, `${b.name} (${b.acl})`)));
  if (!state.bucket && buckets.length) state.bucket = buckets[0].name;
  await loadObjects();
}
async function loadObjects() {
  $('#bucket-title').textContent = state.bucket ? `Objects in ${state.bucket}` : 'No bucket';
  if (!state.bucket) { fill($('#objects-table tbody'), []); return; }
  const prefix = $('#object-prefix').value;
  const listed = await api('GET', `/console/buckets/${encodeURIComponent(state.bucket)}/objects` + qs({ ...ns(), prefix }));
  const up = prefix ? [el('tr', { class: 'clickable', onclick: () => {
    $('#object-prefix').value = prefix.replace(/[^/]*\/$/, ''); loadObjects();
  } }, el('td', { colspan: 5 }, '..'))] : [];
  const dirs = listed.prefixes.map((p) => el('tr', { class: 'clickable', 'data-prefix': p,
    onclick: () => { $('#object-prefix').value = p; loadObjects(); } }, el('td', { colspan: 5 }, p)));
  const files = listed.objects.map((o) => el('tr', { class: 'clickable', 'data-key': o.key },
    el('td', { onclick: () => showObject(o.key) }, o.key.slice(prefix.length)), el('td', {}, bytes(o.size)),
    el('td', {}, o.content_type), el('td', {}, o.last_modified),
    el('td', {}, el('a', { href: contentUrl(state.bucket, o.key, true) }, 'download'),
      el('button', { class: 'link', 'data-delete': o.key, onclick: () => deleteObject(o.key) }, 'delete'))));
  fill($('#objects-table tbody'), [...up, ...dirs, ...files]);
}
async function showObject(key) {
  const meta = await api('GET', `/console/buckets/${encodeURIComponent(state.bucket)}/meta` + qs({ ...ns(), key }));
  const url = contentUrl(state.bucket, key);
  $('#object-detail').replaceChildren(el('h3', {}, key), el('div', { class: 'preview' }, preview(url, kindOf(key, meta.content_type))),
    el('pre', {}, JSON.stringify(meta, null, 2)));
}
async function deleteObject(key) {
  if (!confirm(`Delete ${key}?`)) return;
  await api('DELETE', `/console/buckets/${encodeURIComponent(state.bucket)}/content` + qs({ ...ns(), key }));
  $('#object-detail').replaceChildren();
  await loadObjects();
}
async function upload(event) {
  event.preventDefault();
  const file = $('#upload-file').files[0];
  if (!file || !state.bucket) return;
  const key = $('#upload-key').value || $('#object-prefix').value + file.name;
  await api('PUT', `/console/buckets/${encodeURIComponent(state.bucket)}/content` + qs({ ...ns(), key }),
            file.type || 'application/octet-stream', file);
  $('#upload-key').value = '';
  await loadObjects();
  await showObject(key);
}

// ---- MNS ----------------------------------------------------------------------------------
async function loadMns() {
  const { queues, topics } = await api('GET', '/console/mns' + qs(ns()));
  fill($('#queues-table tbody'), queues.map((q) => el('tr', {},
    el('td', {}, q.name), el('td', {}, q.active), el('td', {}, q.inactive), el('td', {}, q.delayed),
    el('td', {}, el('button', { class: 'link', 'data-peek': q.name, onclick: () => { state.queue = q.name; peek(); } }, 'peek')))));
  $('#topics').replaceChildren(...topics.map((t) => el('div', {}, el('strong', {}, t.name),
    el('ul', {}, t.subscriptions.map((s) => el('li', {}, `${s.name} → ${s.endpoint} (${s.format}${s.filter_tag ? `, tag ${s.filter_tag}` : ''})`))))));
  if (state.queue) await peek();
}
async function peek() {
  const { messages } = await api('GET', `/console/mns/queues/${encodeURIComponent(state.queue)}/peek` + qs(ns()));
  $('#queue-messages').replaceChildren(el('h3', {}, `${state.queue}: ${messages.length} visible message(s), peeked`),
    ...messages.map((m) => el('div', {}, el('div', { class: 'hint' }, `${m.id} · ${m.enqueued} · received ${m.dequeue_count}x`),
      el('pre', {}, m.body))));
}

// ---- faults, clock, journal, billing -----------------------------------------------------
async function loadFaults() {
  const { faults } = await api('GET', '/faults');
  fill($('#faults-table tbody'), faults.map((f) => el('tr', { 'data-fault': f.id },
    el('td', {}, f.id), el('td', {}, f.service), el('td', {}, JSON.stringify(f.match || {})),
    el('td', {}, JSON.stringify(f.effect)), el('td', {}, f.seen), el('td', {}, f.applied),
    el('td', {}, el('button', { class: 'link', 'data-remove': f.id, onclick: async () => {
      await api('DELETE', `/faults/${encodeURIComponent(f.id)}`); loadFaults();
    } }, 'remove')))));
  // How clients coped: per rule, the requests it hit and what came next (GET /faults/report).
  const { rules } = await api('GET', '/faults/report');
  fill($('#fault-report-table tbody'), rules.map((r) => el('tr', { 'data-report': r.id },
    el('td', {}, r.id), el('td', {}, r.effect), el('td', { class: 'hits' }, r.hits.length),
    el('td', { class: 'retries' }, r.retries), el('td', {}, r.retry_delays.map((d) => `${d}s`).join(', ')),
    el('td', {}, r.hits.filter((h) => h.next.kind === 'other').length), el('td', {}, r.gave_up),
    el('td', { class: 'recovered' }, r.hits.length ? (r.recovered ? 'yes' : 'no') : ''))));
}
async function addFault() {
  $('#fault-error').textContent = '';
  let rule;
  try { rule = JSON.parse($('#fault-json').value); } catch (err) { $('#fault-error').textContent = `not JSON: ${err.message}`; return; }
  try { await api('POST', '/faults', rule); } catch (err) { $('#fault-error').textContent = err.message; }
  await loadFaults();
}
async function clock(body) { await api('POST', '/clock', body); await loadClock(); }
async function loadJournal() {
  const filters = { service: $('#journal-service').value, status: $('#journal-status').value.trim(), limit: 200 };
  if (!$('#journal-all-ns').checked) filters.namespace = state.namespace;
  const { requests } = await api('GET', '/requests' + qs(filters));
  fill($('#journal-table tbody'), requests.reverse().map((r) => el('tr', {},
    el('td', {}, r.time), el('td', {}, r.namespace ?? ''), el('td', {}, r.service),
    el('td', {}, r.action || `${r.method} ${r.path}`), el('td', {}, r.status ?? 'dropped'),
    el('td', {}, `${r.latency_ms} ms`), el('td', {}, r.fault ? `${r.fault.id} ${r.fault.effect}` : ''))));
}
async function loadBilling() {
  const billing = await api('GET', '/billing' + qs(ns()));
  const rows = [];
  for (const [service, answer] of Object.entries(billing)) {
    for (const item of answer.items || []) {
      const { namespace, billable_item: name, item: other, quantity, unit, ...rest } = item;
      rows.push(el('tr', {}, el('td', {}, service), el('td', {}, namespace ?? ''), el('td', {}, name || other || ''),
        el('td', {}, quantity ?? ''), el('td', {}, unit ?? ''), el('td', {}, JSON.stringify(rest))));
    }
  }
  fill($('#billing-table tbody'), rows);
}

// ---- wiring -------------------------------------------------------------------------------
const loaders = { tasks: loadTasks, buckets: loadBuckets, mns: loadMns, faults: loadFaults, clock: loadClock,
                  journal: loadJournal, billing: loadBilling };
// What refreshes by itself while its tab is open: tasks and the journal are live views.
const live = { tasks: true, faults: true, journal: () => $('#journal-live').checked, mns: false };

async function refresh() {
  try { await loaders[state.tab](); } catch (err) { console.error(err); }
}
function show(tab) {
  state.tab = tab;
  document.querySelectorAll('#tabs button').forEach((b) => b.classList.toggle('active', b.dataset.tab === tab));
  document.querySelectorAll('.tab').forEach((s) => s.classList.toggle('active', s.id === `tab-${tab}`));
  refresh();
}
document.querySelectorAll('#tabs button').forEach((b) => b.addEventListener('click', () => show(b.dataset.tab)));
$('#namespace').addEventListener('change', (e) => { state.namespace = e.target.value; state.task = null; state.bucket = null; refresh(); });
$('#object-refresh').addEventListener('click', loadObjects);
$('#object-prefix').addEventListener('keydown', (e) => { if (e.key === 'Enter') loadObjects(); });
$('#upload-form').addEventListener('submit', upload);
$('#fault-add').addEventListener('click', addFault);
$('#clock-advance').addEventListener('click', () => clock({ advance_seconds: Number($('#clock-seconds').value) }));
$('#clock-freeze').addEventListener('click', () => clock({ frozen: true }));
$('#clock-unfreeze').addEventListener('click', () => clock({ frozen: false }));
['#journal-service', '#journal-status', '#journal-all-ns'].forEach((s) => $(s).addEventListener('change', loadJournal));

setInterval(() => {
  loadClock().catch(() => {});
  const auto = live[state.tab];
  if (auto === true || (typeof auto === 'function' && auto())) refresh();
}, 1000);
loadHeader().then(loadClock).then(() => show(state.tab)).catch((err) => console.error(err));
