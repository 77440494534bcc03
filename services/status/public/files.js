// Files (search, filter, sort, pages) and one file's view (media, plan, checks, timeline).
import {
  $,
  api,
  bytes,
  control,
  controlOutcome,
  esc,
  fileLink,
  onLive,
  seconds,
  statusBadge,
  throttled,
  when,
} from './app.js';
import { options, resolution, RETRYABLE, SORTS, STATUSES } from './shared.js';

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
          (f) => `<tr data-file="${esc(f.fileId)}"><td>${fileLink(f.fileId, f.path, f.library)}</td>
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
