// The conform dashboard: plain ES modules, no framework and no bundler. A hash router picks a
// view; each view reads the JSON API and, where things move, the live event stream.
import { fileView, filesView } from './files.js';
import { nodesView, queueView } from './activity.js';
import { dryRunView, statsView } from './stats.js';

export const $ = (sel, root = document) => root.querySelector(sel);
export const esc = (s) =>
  String(s ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );
export const bytes = (n) => {
  if (n == null) return '–';
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = Math.abs(n);
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${n < 0 ? '-' : ''}${v.toFixed(i ? 1 : 0)} ${u[i]}`;
};
export const seconds = (s) => {
  if (s == null || !Number.isFinite(s)) return '–';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const r = t % 60;
  return h ? `${h}h ${m}m` : m ? `${m}m ${r}s` : `${r}s`;
};
export const when = (iso) => (iso ? new Date(iso).toLocaleString() : '–');
export const statusBadge = (s) => `<span class="status status-${esc(s)}">${esc(s)}</span>`;
/** A link to a file's view; inside its library the path is shown relative to it (phones). */
export const fileLink = (id, path, library) => {
  const inside = library && path.startsWith(`${library}/`);
  const label = inside ? path.slice(library.length + 1) : path;
  return `<a class="path" href="#/file/${encodeURIComponent(id)}"${inside ? ` title="${esc(path)}"` : ''}>${esc(label)}</a>`;
};
export const progressBar = (percent, label) => {
  const pct = percent != null ? Math.round(percent) : 0;
  return `<progress max="100" value="${pct}" aria-label="progress ${esc(label)}"></progress> ${percent != null ? `${pct}%` : '?'}`;
};

/** GET a JSON API path; the error names the path and the server's message. */
export async function api(path) {
  const res = await fetch(path);
  const body = res.headers.get('content-type')?.includes('json') ? await res.json() : null;
  if (!res.ok) throw new Error(`${path}: ${body?.message ?? res.status}`);
  return { body, res };
}

const token = $('#token');
token.value = sessionStorage.getItem('conform-token') ?? '';
token.addEventListener('change', () => sessionStorage.setItem('conform-token', token.value));

/** POST a control request with the token; resolves with the HTTP status and the answer. */
export async function control(path, body) {
  const res = await fetch(path, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token.value}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const answer = await res.json().catch(() => ({}));
  if (res.status === 401 || res.status === 403) $('#token-help').hidden = false;
  return { status: res.status, answer };
}

/** The text a control button shows after its request. */
export function controlOutcome(status, answer, done) {
  if (status === 202) return done;
  if (status === 401) return 'Refused (401): enter the control token';
  if (status === 403) return 'Refused (403): control is disabled';
  return `Refused (${status}): ${answer.message ?? ''}`;
}

// One live stream for the page; views listen while they are shown.
const listeners = new Set();
const live = new EventSource('api/events');
for (const kind of ['event', 'progress']) {
  live.addEventListener(kind, (e) => {
    const message = JSON.parse(e.data);
    for (const l of [...listeners]) l(message);
  });
}
/** Calls `fn` with each live message until the view changes. */
export function onLive(fn) {
  listeners.add(fn);
  cleanups.push(() => listeners.delete(fn));
}
/** Runs `fn` every `ms` until the view changes. */
export function every(ms, fn) {
  const t = setInterval(fn, ms);
  cleanups.push(() => clearInterval(t));
}
/** Calls `fn` at most every `ms` however often it is asked for (live events come in bursts). */
export function throttled(ms, fn) {
  let timer = null;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      fn();
    }, ms);
  };
}
let cleanups = [];

async function overview(main) {
  const retried = new Set();
  main.innerHTML = `
    <h1>Overview</h1>
    <div class="tiles" id="tiles"></div>
    <h2 id="active-h">Encoding now</h2>
    <div class="scroll"><table id="active" aria-labelledby="active-h"><tbody></tbody></table></div>
    <h2 id="failures-h">Failures to act on</h2>
    <div class="scroll"><table id="failures" aria-labelledby="failures-h"><tbody></tbody></table></div>
    <h2 id="compliance-h">Compliance per library</h2>
    <div class="scroll"><table id="compliance" aria-labelledby="compliance-h"><tbody></tbody></table></div>
    <h2 id="events-h">Recent activity</h2>
    <div class="scroll"><table id="events" aria-labelledby="events-h">
      <thead><tr><th scope="col">Time</th><th scope="col">What</th><th scope="col">File</th><th scope="col" class="wide">By</th></tr></thead>
      <tbody></tbody></table></div>`;
  const refresh = async () => {
    const { body: s } = await api('api/summary');
    const tile = (label, value, id) =>
      `<div class="tile" data-tile="${id}"><div>${label}</div><div class="value">${esc(value)}</div></div>`;
    $('#tiles').innerHTML = [
      tile('Files', s.total, 'files'),
      tile('Compliance', `${s.compliance.percent}%`, 'compliance'),
      tile('Saved', bytes(s.bytesSaved), 'saved'),
      tile('Queued', s.queueDepth, 'queued'),
      tile('Encoding', s.activeEncodes.length, 'encoding'),
      tile('Failed', (s.counts.failed ?? 0) + (s.counts['dead-lettered'] ?? 0), 'failed'),
    ].join('');
    $('#active tbody').innerHTML =
      s.activeEncodes
        .map(
          (a) =>
            `<tr><td>${fileLink(a.fileId, a.path, a.library)}</td><td>${esc(a.encoder)}</td><td>${progressBar(a.progress?.percent, a.path)}</td></tr>`,
        )
        .join('') || '<tr><td>Nothing is encoding.</td></tr>';
    $('#compliance tbody').innerHTML = s.libraries
      .map(
        (l) =>
          `<tr><td class="path">${esc(l.library)}</td><td><div class="bar-bg" role="img" aria-label="${l.percent}% compliant"><div class="bar" style="width:${l.percent}%"></div></div></td><td>${l.percent}% (${l.conforming}/${l.judged})</td></tr>`,
      )
      .join('');
    const { body: failures } = await api('api/failures?open=true');
    $('#failures tbody').innerHTML =
      failures
        .map(
          (f) =>
            `<tr><td>${fileLink(f.fileId, f.path, f.library)}</td><td>${esc(f.reason)}</td><td><button data-retry="${esc(f.fileId)}"${retried.has(f.fileId) ? ' disabled>Retry requested' : '>Retry'}</button></td></tr>`,
        )
        .join('') || '<tr><td>No failures.</td></tr>';
  };
  main.addEventListener('click', async (e) => {
    const id = e.target.dataset?.retry;
    if (!id) return;
    const { status, answer } = await control(`api/files/${encodeURIComponent(id)}/retry`);
    // Remembered, because the next refresh redraws the table.
    if (status === 202) retried.add(id);
    e.target.textContent = controlOutcome(status, answer, 'Retry requested');
    e.target.disabled = status === 202;
  });
  // Recent activity starts from the read model (what changed last), then follows the stream.
  const row = (time, what, fileId, label, by, library) =>
    `<tr><td>${esc(when(time))}</td><td>${esc(what)}</td><td>${fileId ? fileLink(fileId, label, library) : esc(label)}</td><td class="wide">${esc(by)}</td></tr>`;
  const { body: lately } = await api('api/files?sort=updated&order=desc&limit=15');
  $('#events tbody').innerHTML = lately
    .map((f) => row(f.updatedAt, f.lastEventType, f.fileId, f.path, '', f.library))
    .join('');
  const redraw = throttled(500, refresh);
  onLive((m) => {
    if (m.kind === 'event') {
      const body = $('#events tbody');
      body.insertAdjacentHTML(
        'afterbegin',
        row(
          m.time,
          m.type,
          m.fileId === 'control' ? null : m.fileId,
          m.path ?? m.fileId,
          m.producer,
        ),
      );
      while (body.rows.length > 50) body.deleteRow(-1);
    }
    redraw();
  });
  every(5000, refresh);
  await refresh();
}

const routes = {
  '': ['overview', overview],
  files: ['files', filesView],
  file: ['files', fileView],
  queue: ['queue', queueView],
  nodes: ['nodes', nodesView],
  stats: ['stats', statsView],
  'dry-run': ['dry-run', dryRunView],
};

/** `#/files?status=failed` → { name: 'files', arg: null, params }. */
export function currentRoute() {
  const [path, query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [name, ...rest] = path.split('/');
  return {
    name,
    arg: rest.length ? decodeURIComponent(rest.join('/')) : null,
    params: new URLSearchParams(query),
  };
}

let rendering = 0;
async function render() {
  for (const c of cleanups) c();
  cleanups = [];
  const route = currentRoute();
  const [nav, view] = routes[route.name] ?? routes[''];
  for (const a of document.querySelectorAll('nav a')) {
    if (a.dataset.view === nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const main = $('#main');
  const fresh = main.cloneNode(false); // drops the old view's listeners with its nodes
  main.replaceWith(fresh);
  fresh.setAttribute('aria-busy', 'true');
  const mine = ++rendering;
  try {
    await view(fresh, route);
  } catch (err) {
    if (mine === rendering) {
      fresh.insertAdjacentHTML(
        'beforeend',
        `<p class="notice" role="alert">${esc(err.message)}</p>`,
      );
    }
  }
  fresh.setAttribute('aria-busy', 'false');
  document.title = `conform – ${$('h1', fresh)?.textContent ?? ''}`;
}

/** Moves focus to the new view's heading after the user navigated (not on first load). */
window.addEventListener('hashchange', async (e) => {
  const sameView = e.oldURL.split('#')[1]?.split('?')[0] === e.newURL.split('#')[1]?.split('?')[0];
  await render();
  if (!sameView) {
    const h1 = $('#main h1');
    if (h1) {
      h1.tabIndex = -1;
      h1.focus();
    }
  }
});
render();
