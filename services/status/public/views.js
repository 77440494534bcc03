// The dashboard's views besides the overview. Each renders into <main> and returns when its
// first data is shown; live updates and timers are registered with onLive/every, which the
// router stops when the view changes.
import {
  $,
  api,
  bytes,
  control,
  controlOutcome,
  esc,
  every,
  fileLink,
  onLive,
  progressBar,
  seconds,
  statusBadge,
  throttled,
  when,
} from './app.js';

const STATUSES = [
  'discovered',
  'probed',
  'queued',
  'skipped',
  'compliant',
  'unreadable',
  'encoding',
  'encoded',
  'verified',
  'failed',
  'replaced',
  'restored',
  'dead-lettered',
  'removed',
];
const RETRYABLE = new Set(['failed', 'dead-lettered', 'unreadable']);
const SORTS = {
  path: 'Path',
  status: 'Status',
  size: 'Size',
  saved: 'Saved',
  updated: 'Last change',
};
const options = (values, selected, labels = {}) =>
  values
    .map(
      (v) =>
        `<option value="${esc(v)}"${v === selected ? ' selected' : ''}>${esc(labels[v] ?? (v || 'all'))}</option>`,
    )
    .join('');
const resolution = (m) => (m?.width ? `${m.width}×${m.height}` : '–');

export async function filesView(main, route) {
  const p = route.params;
  const state = {
    q: p.get('q') ?? '',
    status: p.get('status') ?? '',
    library: p.get('library') ?? '',
    sort: p.get('sort') ?? 'path',
    order: p.get('order') ?? 'asc',
    limit: Number(p.get('limit') ?? 100),
    offset: Number(p.get('offset') ?? 0),
  };
  const { body: libraries } = await api('api/compliance');
  main.innerHTML = `
    <h1>Files</h1>
    <form class="filters" role="search" aria-label="Find files">
      <label>Search path <input type="search" name="q" value="${esc(state.q)}" placeholder="part of the path" /></label>
      <label>Status <select name="status">${options(['', ...STATUSES], state.status)}</select></label>
      <label>Library <select name="library">${options(['', ...libraries.map((l) => l.library)], state.library)}</select></label>
      <label>Sort by <select name="sort">${options(Object.keys(SORTS), state.sort, SORTS)}</select></label>
      <label>Order <select name="order">${options(['asc', 'desc'], state.order, { asc: 'ascending', desc: 'descending' })}</select></label>
      <label>Per page <select name="limit">${options(['25', '100', '500'], String(state.limit))}</select></label>
    </form>
    <p id="count" class="muted" role="status"></p>
    <div class="scroll"><table id="files">
      <caption class="skip">Files matching the filters</caption>
      <thead><tr><th scope="col">Path</th><th scope="col">Status</th><th scope="col" class="wide">Library</th>
      <th scope="col">Codec</th><th scope="col" class="wide">Resolution</th><th scope="col" class="num">Size</th>
      <th scope="col" class="num">Saved</th><th scope="col" class="wide">Last change</th></tr></thead>
      <tbody></tbody></table></div>
    <div class="pager"><button type="button" id="prev">Previous page</button><button type="button" id="next">Next page</button></div>`;
  const form = $('form', main);
  let total = 0;
  const load = async () => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(state)) if (v !== '' && v != null) q.set(k, String(v));
    // The filters live in the address (shareable, back button), without a re-render.
    history.replaceState(null, '', `#/files?${q}`);
    const { body: files, res } = await api(`api/files?${q}`);
    total = Number(res.headers.get('x-total-count') ?? files.length);
    $('#files tbody', main).innerHTML =
      files
        .map(
          (f) => `<tr data-file="${esc(f.fileId)}"><td>${fileLink(f.fileId, f.path)}</td>
          <td>${statusBadge(f.status)}${f.reason ? `<div class="muted">${esc(f.reason)}</div>` : ''}</td>
          <td class="wide path">${esc(f.library)}</td><td>${esc(f.media.videoCodec ?? '–')}</td>
          <td class="wide">${resolution(f.media)}</td><td class="num">${bytes(f.sizeBytes)}</td>
          <td class="num">${f.bytesSaved != null ? bytes(f.bytesSaved) : '–'}</td><td class="wide">${esc(when(f.updatedAt))}</td></tr>`,
        )
        .join('') || '<tr><td colspan="8">No file matches.</td></tr>';
    const first = total ? state.offset + 1 : 0;
    $('#count', main).textContent =
      `${first}–${state.offset + files.length} of ${total.toLocaleString()} files`;
    $('#prev', main).disabled = state.offset === 0;
    $('#next', main).disabled = state.offset + state.limit >= total;
  };
  let typing = null;
  form.addEventListener('input', (e) => {
    const { name, value } = e.target;
    state[name] = name === 'limit' ? Number(value) : value;
    state.offset = 0;
    clearTimeout(typing);
    typing = setTimeout(load, name === 'q' ? 250 : 0);
  });
  form.addEventListener('submit', (e) => e.preventDefault());
  $('#prev', main).addEventListener('click', () => {
    state.offset = Math.max(0, state.offset - state.limit);
    load();
  });
  $('#next', main).addEventListener('click', () => {
    state.offset += state.limit;
    load();
  });
  await load();
}

function mediaFacts(m, size) {
  if (!m) return '<p class="muted">Not probed.</p>';
  const v = m.video ?? {};
  return `<dl class="facts">
    <dt>Container</dt><dd>${esc(m.container)}</dd>
    <dt>Video</dt><dd>${esc(v.codec ?? 'none')} ${resolution(v)} ${esc(v.pixFmt ?? '')}</dd>
    <dt>Duration</dt><dd>${seconds(m.durationSec)}</dd>
    <dt>Bit rate</dt><dd>${m.bitRate ? `${Math.round(m.bitRate / 1000)} kb/s` : '–'}</dd>
    <dt>Audio, subtitles</dt><dd>${m.audioStreams ?? 0} audio, ${m.subtitleStreams ?? 0} subtitle</dd>
    <dt>Size</dt><dd>${bytes(size)}</dd></dl>`;
}

/** One line per event, like `conform audit`: what happened, in words. */
function summaryOf(e) {
  const d = e.data ?? {};
  switch (e.type) {
    case 'file.planned':
      return `${d.decision}: ${(d.reasons ?? []).join('; ')} (policy ${d.policyVersion})`;
    case 'file.probed':
      return `${d.media?.video?.codec ?? 'no video'} ${resolution(d.media?.video)}, ${bytes(d.source?.size)}`;
    case 'encode.started':
      return `${d.encoder}, attempt ${d.attempt}`;
    case 'encode.completed':
      return `${d.encoder}: ${bytes(d.outputSize)} in ${seconds(d.elapsedMs / 1000)}`;
    case 'verify.passed':
    case 'verify.failed':
      return (d.checks ?? [])
        .map((c) => `${c.name} ${c.passed ? 'ok' : 'FAILED'} (${c.measured} / ${c.limit})`)
        .join('; ');
    case 'file.replaced':
      return `saved ${bytes(d.bytesSaved)}; original archived at ${d.archivePath}`;
    case 'control.requested':
      return `${d.action} requested by ${d.requestedBy}`;
    default:
      return d.reason ?? d.path ?? '';
  }
}

export async function fileView(main, route) {
  const id = route.arg;
  const draw = async () => {
    const { body: f } = await api(`api/files/${encodeURIComponent(id)}`);
    const d = f.detail;
    const name = f.path.split('/').pop();
    main.innerHTML = `
      <p><a href="#/files">← Files</a></p>
      <h1 class="path">${esc(name)}</h1>
      <dl class="facts">
        <dt>Path</dt><dd class="path">${esc(f.path)}</dd>
        <dt>Library</dt><dd class="path">${esc(f.library)}</dd>
        <dt>Status</dt><dd>${statusBadge(f.status)}</dd>
        <dt>Why</dt><dd>${esc(f.reason ?? '–')}</dd>
        <dt>Policy version</dt><dd><code>${esc(f.policyVersion ?? '–')}</code></dd>
        <dt>Saved</dt><dd>${f.bytesSaved != null ? bytes(f.bytesSaved) : '–'}</dd>
        <dt>Archived original</dt><dd class="path">${esc(f.archivePath ?? '–')}</dd>
      </dl>
      <p>
        <button type="button" id="retry"${RETRYABLE.has(f.status) ? '' : ' disabled'}>Retry</button>
        <button type="button" id="restore"${d.restorable ? '' : ' disabled'}>Restore original</button>
        <span id="action" role="status"></span>
      </p>
      <div class="columns">
        <section class="panel" aria-labelledby="before-h"><h2 id="before-h">Before</h2>${mediaFacts(d.before?.media, d.before?.sizeBytes)}</section>
        <section class="panel" aria-labelledby="after-h"><h2 id="after-h">After</h2>${
          d.after
            ? `${d.after.media ? mediaFacts(d.after.media, d.after.sizeBytes) : `<dl class="facts"><dt>Target</dt><dd>${esc(d.after.target.videoCodec)} in ${esc(d.after.target.container)}</dd><dt>Size</dt><dd>${bytes(d.after.sizeBytes)}</dd></dl>`}
              <dl class="facts"><dt>Encoder</dt><dd>${esc(d.after.encoder)}${d.after.fps ? `, ${d.after.fps.toFixed(1)} fps` : ''}</dd>
              <dt>Encode time</dt><dd>${seconds(d.after.elapsedMs / 1000)}</dd>
              <dt>Replaced</dt><dd>${esc(when(d.after.replacedAt))}</dd></dl>`
            : '<p class="muted">Not encoded.</p>'
        }</section>
      </div>
      <h2 id="plan-h">Plan</h2>
      ${
        d.plan
          ? `<dl class="facts"><dt>Decision</dt><dd>${esc(d.plan.decision)}</dd>
            <dt>Policy version</dt><dd><code>${esc(d.plan.policyVersion)}</code>${d.plan.previousPolicyVersion ? ` (was <code>${esc(d.plan.previousPolicyVersion)}</code>)` : ''}</dd>
            <dt>Target</dt><dd>${d.plan.target ? `${esc(d.plan.target.videoCodec)} in ${esc(d.plan.target.container)}` : '–'}</dd>
            <dt>Estimated output</dt><dd>${bytes(d.plan.estimatedOutputBytes)}</dd>
            <dt>Planned</dt><dd>${esc(when(d.plan.time))}</dd></dl>
            <ul id="reasons">${d.plan.reasons.map((r) => `<li>${esc(r)}</li>`).join('') || '<li>no reasons given</li>'}</ul>`
          : '<p class="muted">Not planned yet.</p>'
      }
      ${
        d.encodePlan && d.encodePlan !== d.plan && d.encodePlan.time !== d.plan?.time
          ? `<h3>Encoded because</h3><p class="muted">The plan of the last encode (policy <code>${esc(d.encodePlan.policyVersion)}</code>, ${esc(when(d.encodePlan.time))}):</p>
            <ul id="encode-reasons">${d.encodePlan.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>`
          : ''
      }
      <h2 id="checks-h">Verification</h2>
      ${
        d.verification
          ? `<p>${d.verification.passed ? '<span class="ok">passed</span>' : '<span class="bad">failed</span>'} ${esc(when(d.verification.time))}</p>
            <div class="scroll"><table id="checks" aria-labelledby="checks-h"><thead><tr><th scope="col">Check</th><th scope="col">Result</th><th scope="col">Measured</th><th scope="col">Limit</th></tr></thead><tbody>
            ${d.verification.checks.map((c) => `<tr><td>${esc(c.name)}</td><td class="${c.passed ? 'ok' : 'bad'}">${c.passed ? 'passed' : 'failed'}</td><td>${esc(c.measured)}</td><td>${esc(c.limit)}</td></tr>`).join('')}
            </tbody></table></div>`
          : '<p class="muted">Not verified.</p>'
      }
      <h2 id="jobs-h">Encode attempts</h2>
      <div class="scroll"><table aria-labelledby="jobs-h"><thead><tr><th scope="col">Attempt</th><th scope="col">Encoder</th><th scope="col">Outcome</th><th scope="col" class="num">Time</th><th scope="col" class="num">fps</th><th scope="col" class="wide">Reason</th></tr></thead><tbody>
      ${f.jobs.map((j) => `<tr><td>${j.attempt}</td><td>${esc(j.encoder)}</td><td>${esc(j.outcome)}</td><td class="num">${seconds(j.elapsedMs / 1000)}</td><td class="num">${j.fps?.toFixed(1) ?? '–'}</td><td class="wide">${esc(j.reason ?? '')}</td></tr>`).join('') || '<tr><td colspan="6">None.</td></tr>'}
      </tbody></table></div>
      <h2 id="timeline-h">Timeline</h2>
      <p class="muted">Every event of this file in the event log, oldest first (what <code>conform audit</code> prints).</p>
      <div class="scroll"><table id="timeline" aria-labelledby="timeline-h"><thead><tr><th scope="col" class="num">Seq</th><th scope="col">Time</th><th scope="col">Event</th><th scope="col">What</th><th scope="col" class="wide">By</th></tr></thead><tbody>
      ${f.events
        .map((m) =>
          m.event
            ? `<tr><td class="num">${m.sequence}</td><td>${esc(when(m.event.time))}</td><td>${esc(m.event.type)}</td><td>${esc(summaryOf(m.event))}<details><summary>data</summary><pre>${esc(JSON.stringify(m.event.data, null, 2))}</pre></details></td><td class="wide">${esc(m.event.producer)}</td></tr>`
            : `<tr><td class="num">${m.sequence}</td><td></td><td class="bad">unreadable</td><td>${esc(m.error)}</td><td class="wide"></td></tr>`,
        )
        .join('')}
      </tbody></table></div>`;
    const act = (button, path, done) =>
      $(button, main).addEventListener('click', async (e) => {
        const { status, answer } = await control(path);
        $('#action', main).textContent = controlOutcome(status, answer, done);
        if (status === 202) e.target.disabled = true;
      });
    act('#retry', `api/files/${encodeURIComponent(id)}/retry`, 'Retry requested');
    act('#restore', `api/files/${encodeURIComponent(id)}/restore`, 'Restore requested');
  };
  await draw();
  const redraw = throttled(700, async () => {
    // A redraw would take the focus away from a button the user is on: keep its place.
    const focused = document.activeElement?.id;
    await draw();
    if (focused) document.getElementById(focused)?.focus();
  });
  onLive((m) => {
    if (m.kind === 'event' && m.fileId === id) redraw();
  });
}

export async function queueView(main) {
  main.innerHTML = `
    <h1>Queue</h1>
    <section aria-labelledby="pause-h"><h2 id="pause-h">Encoding</h2>
      <p id="pause" role="status"></p>
      <p><button type="button" id="do-pause">Pause</button> <button type="button" id="do-pause-now">Pause now (stop running encodes)</button>
      <button type="button" id="do-resume">Resume</button> <span id="pause-result" role="status"></span></p>
    </section>
    <h2 id="now-h">Encoding now</h2>
    <div class="scroll"><table id="now" aria-labelledby="now-h"><thead><tr><th scope="col">File</th><th scope="col">Node</th><th scope="col" class="wide">Encoder</th><th scope="col">Progress</th><th scope="col" class="num">fps</th><th scope="col" class="num">ETA</th></tr></thead><tbody></tbody></table></div>
    <h2 id="queued-h">Queued</h2>
    <p id="queued-count" class="muted"></p>
    <div class="scroll"><table id="queued" aria-labelledby="queued-h"><thead><tr><th scope="col" class="num">#</th><th scope="col">File</th><th scope="col" class="wide">Library</th><th scope="col" class="num">Size</th><th scope="col" class="wide">Planned</th></tr></thead><tbody></tbody></table></div>
    <h2 id="recent-h">Recent outcomes</h2>
    <div class="scroll"><table id="recent" aria-labelledby="recent-h"><thead><tr><th scope="col">File</th><th scope="col">Outcome</th><th scope="col" class="wide">Encoder</th><th scope="col" class="num">Time</th><th scope="col" class="num">Speed</th><th scope="col" class="wide">Finished</th></tr></thead><tbody></tbody></table></div>`;
  const progressCells = (a, p) =>
    `<td>${esc(p?.node ?? '–')}</td><td class="wide">${esc(p?.encoder ?? a.encoder)}</td><td>${progressBar(p?.percent, a.path)}</td>
     <td class="num">${p?.fps != null ? p.fps.toFixed(1) : '–'}</td><td class="num">${seconds(p?.etaSec)}</td>`;
  const active = new Map();
  const refresh = async () => {
    const { body: q } = await api('api/queue?limit=100');
    const reasons = q.pause.nodes
      .map(
        (n) =>
          `${n.node}: ${n.reasons.map((r) => `${r.reason} (${r.detail}, since ${when(r.since)})`).join(', ')}`,
      )
      .join('; ');
    $('#pause', main).innerHTML = q.pause.paused
      ? `<strong class="warn">Paused</strong> — ${esc(reasons)}`
      : '<strong class="ok">Running</strong>' +
        (q.pause.lastRequest
          ? ` <span class="muted">(last request: ${esc(q.pause.lastRequest.action)} by ${esc(q.pause.lastRequest.by)}, ${esc(when(q.pause.lastRequest.time))})</span>`
          : '');
    active.clear();
    for (const a of q.active) active.set(a.fileId, a);
    $('#now tbody', main).innerHTML =
      q.active
        .map(
          (a) =>
            `<tr data-file="${esc(a.fileId)}"><td>${fileLink(a.fileId, a.path)}</td>${progressCells(a, a.progress)}</tr>`,
        )
        .join('') || '<tr><td colspan="6">Nothing is encoding.</td></tr>';
    $('#queued-count', main).textContent =
      `${q.queuedTotal.toLocaleString()} queued, in the order they were planned`;
    $('#queued tbody', main).innerHTML =
      q.queued
        .map(
          (f, i) =>
            `<tr><td class="num">${i + 1}</td><td>${fileLink(f.fileId, f.path)}</td><td class="wide path">${esc(f.library)}</td><td class="num">${bytes(f.sizeBytes)}</td><td class="wide">${esc(when(f.updatedAt))}</td></tr>`,
        )
        .join('') || '<tr><td colspan="5">The queue is empty.</td></tr>';
    $('#recent tbody', main).innerHTML =
      q.recent
        .map(
          (j) =>
            `<tr><td>${fileLink(j.fileId, j.path)}</td><td>${statusBadge(j.outcome)}</td><td class="wide">${esc(j.encoder)}</td><td class="num">${seconds(j.elapsedMs / 1000)}</td><td class="num">${j.speed ? `${j.speed.toFixed(2)}×` : '–'}</td><td class="wide">${esc(when(j.finishedAt))}</td></tr>`,
        )
        .join('') || '<tr><td colspan="6">Nothing finished yet.</td></tr>';
  };
  const pauseButton = (sel, path, body, done) =>
    $(sel, main).addEventListener('click', async () => {
      const { status, answer } = await control(path, body);
      $('#pause-result', main).textContent = controlOutcome(status, answer, done);
      refresh();
    });
  pauseButton('#do-pause', 'api/control/pause', { now: false }, 'Pause requested');
  pauseButton('#do-pause-now', 'api/control/pause', { now: true }, 'Pause requested (now)');
  pauseButton('#do-resume', 'api/control/resume', undefined, 'Resume requested');
  const redraw = throttled(500, refresh);
  onLive((m) => {
    if (m.kind === 'progress') {
      // Progress updates the row in place; a file not shown yet needs the read model first.
      const row = $(`#now tr[data-file="${CSS.escape(m.fileId)}"]`, main);
      const a = active.get(m.fileId);
      if (row && a) row.innerHTML = `<td>${fileLink(a.fileId, a.path)}</td>${progressCells(a, m)}`;
      else redraw();
    } else redraw();
  });
  every(5000, refresh);
  await refresh();
}

export async function nodesView(main) {
  main.innerHTML = `
    <h1>Nodes</h1>
    <p class="muted">What each encoder node last said in its heartbeat. A node silent for three intervals is shown as lost.</p>
    <div class="scroll"><table id="nodes"><caption>Encoder nodes</caption><thead><tr><th scope="col">Node</th><th scope="col">State</th><th scope="col">Devices (slots in use)</th><th scope="col" class="num">Running</th><th scope="col">Last heartbeat</th><th scope="col" class="wide">Started</th></tr></thead><tbody></tbody></table></div>
    <div id="unreadable"></div>`;
  const refresh = async () => {
    const { body } = await api('api/nodes');
    $('#nodes tbody', main).innerHTML =
      body.nodes
        .map((n) => {
          const state = n.lost
            ? '<span class="bad">lost</span>'
            : n.state === 'stopped'
              ? '<span class="muted">stopped</span>'
              : n.paused
                ? `<span class="warn">paused</span> (${esc(n.pauseReasons.join(', '))})`
                : '<span class="ok">working</span>';
          const devices = n.devices
            .map(
              (d) =>
                `${esc(d.backend)}: ${d.inUse}/${d.slots} <span class="muted">${esc(d.encoders.join(', '))}</span>`,
            )
            .join('<br />');
          return `<tr data-node="${esc(n.node)}"><td>${esc(n.node)}<div class="muted">${esc(n.host)}</div></td><td>${state}</td><td>${devices}</td><td class="num">${n.running}</td><td>${seconds(n.ageSec)} ago</td><td class="wide">${esc(when(n.startedAt))}</td></tr>`;
        })
        .join('') || '<tr><td colspan="6">No encoder node has reported yet.</td></tr>';
    $('#unreadable', main).innerHTML = body.unreadable.length
      ? `<p class="notice">Unreadable heartbeats: ${body.unreadable.map((u) => `${esc(u.key)} (${esc(u.error)})`).join('; ')}</p>`
      : '';
  };
  every(5000, refresh);
  await refresh();
}

const palette = () => {
  const css = getComputedStyle(document.documentElement);
  return {
    fg: css.getPropertyValue('--fg').trim(),
    line: css.getPropertyValue('--line').trim(),
    series: ['#2e8a57', '#0b5cad', '#c2410c', '#7c3aed', '#b91c1c', '#0e7490'],
  };
};

function chart(canvas, type, labels, datasets, opts = {}) {
  const c = palette();
  datasets.forEach((d, i) => {
    d.backgroundColor ??= c.series[i % c.series.length];
    d.borderColor ??= c.series[i % c.series.length];
  });
  // eslint-disable-next-line no-undef -- Chart is the bundled UMD build's global
  return new Chart(canvas, {
    type,
    data: { labels, datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      indexAxis: opts.horizontal ? 'y' : 'x',
      plugins: { legend: { labels: { color: c.fg } } },
      scales: {
        x: { stacked: opts.stacked, ticks: { color: c.fg }, grid: { color: c.line } },
        y: {
          stacked: opts.stacked,
          ticks: { color: c.fg, callback: opts.tick },
          grid: { color: c.line },
          ...(opts.max ? { max: opts.max, min: 0 } : {}),
        },
      },
    },
  });
}

const dataTable = (caption, head, rows) =>
  `<details><summary>${esc(caption)} as a table</summary><div class="scroll"><table><thead><tr>${head.map((h) => `<th scope="col">${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('') || `<tr><td colspan="${head.length}">No data yet.</td></tr>`}</tbody></table></div></details>`;

export async function statsView(main) {
  const { body: s } = await api('api/stats');
  const panel = (id, title, desc, table) =>
    `<section class="panel" aria-labelledby="${id}-h"><h2 id="${id}-h">${esc(title)}</h2><div class="chart"><canvas id="${id}" role="img" aria-label="${esc(desc)}"></canvas></div>${table}</section>`;
  main.innerHTML = `<h1>Statistics</h1><div class="columns">
    ${panel(
      'saved-day',
      'Bytes saved per day',
      'bar chart of bytes saved per day, by library',
      dataTable(
        'Bytes saved per day',
        ['Day', 'Library', 'Saved', 'Files'],
        s.savingsByDay.map((r) => [r.day, r.library, bytes(r.bytesSaved), r.filesReplaced]),
      ),
    )}
    ${panel(
      'saved-library',
      'Bytes saved per library',
      'bar chart of bytes saved per library',
      dataTable(
        'Bytes saved per library',
        ['Library', 'Saved', 'Files'],
        s.savingsByLibrary.map((r) => [r.library, bytes(r.bytesSaved), r.filesReplaced]),
      ),
    )}
    ${panel(
      'compliance-chart',
      'Compliance per library',
      'bar chart of the percentage of compliant files per library',
      dataTable(
        'Compliance',
        ['Library', 'Percent', 'Conforming', 'Judged'],
        s.compliance.map((r) => [r.library, `${r.percent}%`, r.conforming, r.judged]),
      ),
    )}
    ${panel(
      'encode-time',
      'Encode time per output hour',
      'bar chart of encoding minutes per hour of output, per day and encoder',
      dataTable(
        'Encode time',
        ['Day', 'Encoder', 'Encodes', 'Minutes per output hour'],
        s.encodeTime.map((r) => [
          r.day,
          r.encoder,
          r.encodes,
          (r.secondsPerOutputHour / 60).toFixed(1),
        ]),
      ),
    )}
    ${panel(
      'failures-chart',
      'Failures by reason',
      'horizontal bar chart of failures by reason',
      dataTable(
        'Failures',
        ['Kind', 'Reason', 'Count', 'Files'],
        s.failuresByReason.map((r) => [r.kind, r.reason, r.count, r.files]),
      ),
    )}
  </div>`;
  if (typeof Chart === 'undefined') {
    main.insertAdjacentHTML(
      'beforeend',
      '<p class="notice">The chart library did not load; the tables above have the figures.</p>',
    );
    return;
  }
  const days = [...new Set(s.savingsByDay.map((r) => r.day))].sort();
  const libs = [...new Set(s.savingsByDay.map((r) => r.library))].sort();
  const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  const charts = [
    chart(
      $('#saved-day', main),
      'bar',
      days,
      libs.map((lib) => ({
        label: lib,
        data: days.map(
          (d) => s.savingsByDay.find((r) => r.day === d && r.library === lib)?.bytesSaved ?? 0,
        ),
      })),
      { stacked: true, tick: mb },
    ),
    chart(
      $('#saved-library', main),
      'bar',
      s.savingsByLibrary.map((r) => r.library),
      [{ label: 'bytes saved', data: s.savingsByLibrary.map((r) => r.bytesSaved) }],
      { tick: mb },
    ),
    chart(
      $('#compliance-chart', main),
      'bar',
      s.compliance.map((r) => r.library),
      [{ label: '% compliant', data: s.compliance.map((r) => r.percent) }],
      { max: 100 },
    ),
  ];
  const encDays = [...new Set(s.encodeTime.map((r) => r.day))].sort();
  const encoders = [...new Set(s.encodeTime.map((r) => r.encoder))].sort();
  charts.push(
    chart(
      $('#encode-time', main),
      'bar',
      encDays,
      encoders.map((enc) => ({
        label: `${enc} (minutes per output hour)`,
        data: encDays.map((d) => {
          const r = s.encodeTime.find((x) => x.day === d && x.encoder === enc);
          return r ? Math.round(r.secondsPerOutputHour / 6) / 10 : null;
        }),
      })),
    ),
    chart(
      $('#failures-chart', main),
      'bar',
      s.failuresByReason.map((r) => `${r.kind}: ${r.reason}`.slice(0, 60)),
      [{ label: 'failures', data: s.failuresByReason.map((r) => r.count) }],
      { horizontal: true },
    ),
  );
  main.dataset.charts = String(charts.length);
}

export async function dryRunView(main, route) {
  main.innerHTML =
    '<h1>Dry run</h1><p class="muted" role="status">Deciding every known file under the current policy…</p>';
  const { body: r } = await api('api/dry-run');
  const show = route.params.get('decision') ?? '';
  const t = r.totals;
  const versions = [...new Set(r.files.map((f) => f.policyVersion))];
  main.innerHTML = `
    <h1>Dry run</h1>
    <p>What the current policy${versions.length ? ` (<code>${versions.map(esc).join(', ')}</code>)` : ''} would do with every known file. Nothing is changed.</p>
    <div class="tiles" id="dry-totals">
      <div class="tile"><div>Files</div><div class="value">${r.files.length}</div></div>
      <div class="tile"><div>To encode</div><div class="value">${t.encode}</div></div>
      <div class="tile"><div>Compliant</div><div class="value">${t.compliant}</div></div>
      <div class="tile"><div>Skipped</div><div class="value">${t.skip}</div></div>
      <div class="tile" data-tile="estimated"><div>Estimated saving</div><div class="value">${bytes(t.estimatedBytesSaved)}</div></div>
      <div class="tile"><div>Would be re-planned</div><div class="value">${t.changes}</div></div>
    </div>
    <form class="filters"><label>Show <select name="decision">${options(['', 'encode', 'compliant', 'skip'], show)}</select></label></form>
    <div class="scroll"><table id="dry"><caption class="skip">Decisions per file</caption><thead><tr><th scope="col">File</th><th scope="col">Decision</th><th scope="col">Why</th><th scope="col" class="num">Size</th><th scope="col" class="num">Saves about</th><th scope="col" class="wide">Changes</th></tr></thead><tbody></tbody></table></div>`;
  const draw = (decision) => {
    $('#dry tbody', main).innerHTML =
      r.files
        .filter((f) => !decision || f.decision === decision)
        .map(
          (f) =>
            `<tr><td>${fileLink(f.fileId, f.path)}</td><td>${esc(f.decision)}</td><td>${esc(f.reasons.join('; '))}</td><td class="num">${bytes(f.sizeBytes)}</td><td class="num">${f.decision === 'encode' ? bytes(f.estimatedBytesSaved) : '–'}</td><td class="wide">${f.changes ? 'would be re-planned' : 'same as now'}</td></tr>`,
        )
        .join('') || '<tr><td colspan="6">No file.</td></tr>';
  };
  $('form', main).addEventListener('input', (e) => {
    history.replaceState(
      null,
      '',
      `#/dry-run${e.target.value ? `?decision=${e.target.value}` : ''}`,
    );
    draw(e.target.value);
  });
  draw(show);
}
