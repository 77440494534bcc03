// Statistics (charts from the bundled Chart.js, with tables) and the dry run.
import { $, api, bytes, esc, fileLink } from './app.js';
import { options } from './shared.js';

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
          // A callback left undefined would replace Chart.js's own labels with indexes.
          ticks: { color: c.fg, ...(opts.tick ? { callback: opts.tick } : {}) },
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
            `<tr><td>${fileLink(f.fileId, f.path, f.library)}</td><td>${esc(f.decision)}</td><td>${esc(f.reasons.join('; '))}</td><td class="num">${bytes(f.sizeBytes)}</td><td class="num">${f.decision === 'encode' ? bytes(f.estimatedBytesSaved) : '–'}</td><td class="wide">${f.changes ? 'would be re-planned' : 'same as now'}</td></tr>`,
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
