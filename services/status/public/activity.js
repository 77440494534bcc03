// Queue (what waits, what encodes now, live progress, pause) and the encoder nodes.
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
            `<tr data-file="${esc(a.fileId)}"><td>${fileLink(a.fileId, a.path, a.library)}</td>${progressCells(a, a.progress)}</tr>`,
        )
        .join('') || '<tr><td colspan="6">Nothing is encoding.</td></tr>';
    $('#queued-count', main).textContent =
      `${q.queuedTotal.toLocaleString()} queued, in the order they were planned`;
    $('#queued tbody', main).innerHTML =
      q.queued
        .map(
          (f, i) =>
            `<tr><td class="num">${i + 1}</td><td>${fileLink(f.fileId, f.path, f.library)}</td><td class="wide path">${esc(f.library)}</td><td class="num">${bytes(f.sizeBytes)}</td><td class="wide">${esc(when(f.updatedAt))}</td></tr>`,
        )
        .join('') || '<tr><td colspan="5">The queue is empty.</td></tr>';
    $('#recent tbody', main).innerHTML =
      q.recent
        .map(
          (j) =>
            `<tr><td>${fileLink(j.fileId, j.path, j.library)}</td><td>${statusBadge(j.outcome)}</td><td class="wide">${esc(j.encoder)}</td><td class="num">${seconds(j.elapsedMs / 1000)}</td><td class="num">${j.speed ? `${j.speed.toFixed(2)}×` : '–'}</td><td class="wide">${esc(when(j.finishedAt))}</td></tr>`,
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
      if (row && a)
        row.innerHTML = `<td>${fileLink(a.fileId, a.path, a.library)}</td>${progressCells(a, m)}`;
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
