import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sampleData, sampleEvent, wrap, type EventEnvelope } from '@conform/contracts';
import { silentLogger } from '@conform/bus';
import {
  applyBatch,
  applyEvent,
  fileSortKeys,
  fileStatuses,
  openReadModels,
  type FileRow,
  type ReadModels,
} from '@conform/projections';
import { StatusListenError, startStatusServer, type StatusServer } from '../src/index.js';

let dir: string;
let readModels: ReadModels;
let server: StatusServer;

function inShows(event: EventEnvelope): EventEnvelope {
  return {
    ...event,
    data: { ...event.data, library: '/media/shows', path: '/media/shows/s1.mkv' },
  } as EventEnvelope;
}

function skipPlan(fileId: string): EventEnvelope {
  return wrap(
    {
      type: 'file.planned',
      data: {
        ...sampleData['file.planned'],
        decision: 'skip',
        reasons: ['too short'],
        target: null,
      },
    },
    { fileId, producer: 'test@host', time: new Date('2026-01-02T00:00:00.000Z') },
  );
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conform-status-'));
  readModels = openReadModels(join(dir, 'read-models.sqlite'));
  const events = [
    sampleEvent('file.discovered', 'fqueued'),
    sampleEvent('file.planned', 'fqueued'),
    skipPlan('fskipped'),
    sampleEvent('file.discovered', 'fnew'),
    sampleEvent('file.replaced', 'fdone'),
    inShows(sampleEvent('encode.started', 'fshow')),
  ];
  for (const [i, event] of events.entries()) await applyEvent(readModels.db, event, i + 1);
  server = await startStatusServer({ readModels, log: silentLogger() });
});
after(async () => {
  await server.close();
  await readModels.close();
  await rm(dir, { recursive: true, force: true });
});

async function get(
  path: string,
  base = server.url,
): Promise<{ status: number; body: unknown; type: string }> {
  const res = await fetch(`${base}${path}`);
  const type = res.headers.get('content-type') ?? '';
  const body = type.includes('json') ? await res.json() : await res.text();
  return { status: res.status, body, type };
}

describe('status server', () => {
  it('binds loopback on a free port by default', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(new URL(server.url).port, '0');
  });

  it('GET /healthz answers ok', async () => {
    assert.deepEqual(await get('/healthz').then((r) => [r.status, r.body]), [
      200,
      { status: 'ok' },
    ]);
  });

  it('GET /readyz is 200 with the applied sequence when ready', async () => {
    const r = await get('/readyz');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { status: 'ready', appliedSequence: 6 });
  });

  it('GET /readyz is 503 with a reason when isReady is false or throws', async () => {
    const notReady = await startStatusServer({
      readModels,
      log: silentLogger(),
      isReady: async () => false,
    });
    const broken = await startStatusServer({
      readModels,
      log: silentLogger(),
      isReady: async () => {
        throw new Error('bus down');
      },
    });
    try {
      const a = await get('/readyz', notReady.url);
      assert.equal(a.status, 503);
      assert.equal((a.body as { status: string }).status, 'unavailable');
      assert.match((a.body as { reason: string }).reason, /not ready/);
      const b = await get('/readyz', broken.url);
      assert.equal(b.status, 503);
      assert.match((b.body as { reason: string }).reason, /bus down/);
    } finally {
      await notReady.close();
      await broken.close();
    }
  });

  it('GET /readyz is 503 when the read model does not answer', async () => {
    const closedModels = openReadModels(join(dir, 'closed.sqlite'));
    const s = await startStatusServer({ readModels: closedModels, log: silentLogger() });
    try {
      await closedModels.close();
      const r = await get('/readyz', s.url);
      assert.equal(r.status, 503);
      assert.match((r.body as { reason: string }).reason, /read model does not answer/);
    } finally {
      await s.close();
    }
  });

  it('GET /metrics is Prometheus text with file gauges from the read model', async () => {
    const r = await get('/metrics');
    assert.equal(r.status, 200);
    assert.match(r.type, /^text\/plain; version=0\.0\.4/);
    const text = r.body as string;
    const lines = text.split('\n').filter(Boolean);
    assert.ok(lines.includes('# HELP conform_files Files in the read model, by pipeline status.'));
    assert.ok(lines.includes('# TYPE conform_files gauge'));
    assert.ok(lines.includes('conform_files{status="queued"} 1'), text);
    assert.ok(lines.includes('conform_files{status="skipped"} 1'));
    assert.ok(lines.includes('conform_files{status="encoding"} 1'));
    assert.ok(lines.includes('conform_files{status="verified"} 0'));
    assert.ok(lines.includes('conform_read_model_sequence 6'));
    assert.ok(lines.some((l) => l.startsWith('process_cpu_user_seconds_total ')));
    // Every line is a comment or `name{labels} value`, as the exposition format requires.
    const sample =
      /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? [-+0-9.eEInfNa]+$/;
    for (const line of lines) {
      assert.ok(
        line.startsWith('# HELP ') || line.startsWith('# TYPE ') || sample.test(line),
        line,
      );
    }
  });

  it('serves metrics from two servers in one process without clashing', async () => {
    const second = await startStatusServer({ readModels, log: silentLogger() });
    try {
      const r = await get('/metrics', second.url);
      assert.equal(r.status, 200);
      assert.match(r.body as string, /conform_files\{status="queued"\} 1/);
    } finally {
      await second.close();
    }
  });

  it('GET /api/files lists files with their status, ordered by library and path', async () => {
    const r = await get('/api/files');
    assert.equal(r.status, 200);
    const files = r.body as FileRow[];
    assert.equal(files.length, 5);
    assert.deepEqual(
      files.map((f) => f.library),
      ['/media/movies', '/media/movies', '/media/movies', '/media/movies', '/media/shows'],
    );
    const queued = files.find((f) => f.fileId === 'fqueued');
    assert.equal(queued?.status, 'queued');
    assert.equal(queued?.path, sampleData['file.planned'].path);
    assert.equal(queued?.updatedAt, '2026-01-01T00:00:00.000Z');
    assert.equal(files.find((f) => f.fileId === 'fskipped')?.reason, 'too short');
    assert.equal(files.find((f) => f.fileId === 'fdone')?.bytesSaved, 600_000);
  });

  it('GET /api/files filters by status and library and pages with limit and offset', async () => {
    const ids = async (q: string) =>
      ((await get(`/api/files?${q}`)).body as FileRow[]).map((f) => f.fileId);
    assert.deepEqual(await ids('status=queued'), ['fqueued']);
    assert.deepEqual(await ids('library=%2Fmedia%2Fshows'), ['fshow']);
    assert.deepEqual(await ids('status=queued&library=%2Fmedia%2Fshows'), []);
    const all = await ids('limit=1000');
    assert.deepEqual(await ids('limit=2&offset=1'), all.slice(1, 3));
    assert.deepEqual(await ids('offset=5'), []);
  });

  for (const [query, param] of [
    ['limit=abc', 'limit'],
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
    ['limit=2.5', 'limit'],
    ['offset=-1', 'offset'],
    ['offset=x', 'offset'],
    ['status=bogus', 'status'],
    ['library=', 'library'],
  ] as const) {
    it(`GET /api/files?${query} is 400 naming ${param}`, async () => {
      const r = await get(`/api/files?${query}`);
      assert.equal(r.status, 400);
      const body = r.body as { error: string; message: string };
      assert.equal(body.error, 'bad_request');
      assert.match(body.message, new RegExp(`query parameter ${param}\\b`));
    });
  }

  it('GET /api/files/:id returns one file, 404 for an unknown id and 400 for a malformed one', async () => {
    const one = await get('/api/files/fdone');
    assert.equal(one.status, 200);
    assert.equal((one.body as FileRow).status, 'replaced');
    assert.equal((await get('/api/files/nosuchfile')).status, 404);
    const bad = await get('/api/files/a.b');
    assert.equal(bad.status, 400);
    assert.match((bad.body as { message: string }).message, /path parameter id/);
  });

  it('GET /api/summary counts files by status', async () => {
    const r = await get('/api/summary');
    assert.equal(r.status, 200);
    const body = r.body as {
      total: number;
      counts: Record<string, number>;
      bytesSaved: number;
      queueDepth: number;
      activeEncodes: { fileId: string; progress: unknown }[];
      libraries: { library: string; percent: number }[];
    };
    assert.equal(body.total, 5);
    assert.deepEqual(body.counts, {
      discovered: 1,
      encoding: 1,
      queued: 1,
      replaced: 1,
      skipped: 1,
    });
    assert.equal(body.bytesSaved, 600_000);
    assert.equal(body.queueDepth, 1);
    assert.deepEqual(
      body.activeEncodes.map((a) => [a.fileId, a.progress]),
      [['fshow', null]],
    );
    assert.deepEqual(
      body.libraries.map((l) => [l.library, l.percent]),
      [
        ['/media/movies', 33.3],
        ['/media/shows', 0],
      ],
    );
  });

  it('answers unknown routes with a JSON 404', async () => {
    const r = await get('/nope');
    assert.equal(r.status, 404);
    assert.match(r.type, /json/);
    assert.deepEqual(r.body, { error: 'not_found', message: 'no route GET /nope' });
  });

  it('reports a port already in use as a StatusListenError', async () => {
    const port = Number(new URL(server.url).port);
    await assert.rejects(
      startStatusServer({ readModels, log: silentLogger(), port }),
      (err: unknown) =>
        err instanceof StatusListenError && /EADDRINUSE|address already in use/.test(err.message),
    );
  });
});

describe('status server views', () => {
  it('GET /api/files searches, sorts and says how many match in X-Total-Count', async () => {
    const res = await fetch(`${server.url}/api/files?q=FILM&sort=updated&order=desc&limit=2`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-total-count'), '4');
    const files = (await res.json()) as FileRow[];
    assert.equal(files.length, 2);
    assert.ok(files[0]!.lastSequence > files[1]!.lastSequence);
    const none = await fetch(`${server.url}/api/files?q=nothing-like-this`);
    assert.equal(none.headers.get('x-total-count'), '0');
    assert.equal((await get('/api/files?sort=bogus')).status, 400);
  });

  it('GET /api/queue lists queued files in plan order and the running encode', async () => {
    const r = await get('/api/queue');
    assert.equal(r.status, 200);
    const q = r.body as {
      queued: FileRow[];
      queuedTotal: number;
      active: { fileId: string }[];
      pause: { paused: boolean };
    };
    assert.deepEqual(
      q.queued.map((f) => f.fileId),
      ['fqueued'],
    );
    assert.equal(q.queuedTotal, 1);
    assert.deepEqual(
      q.active.map((a) => a.fileId),
      ['fshow'],
    );
    assert.equal(q.pause.paused, false);
  });

  it('GET /api/stats has savings per day and library, compliance and failures', async () => {
    const s = (await get('/api/stats')).body as {
      savingsByDay: { day: string; bytesSaved: number }[];
      savingsByLibrary: { library: string; bytesSaved: number }[];
      compliance: { library: string }[];
      failuresByReason: unknown[];
      encodeTime: unknown[];
    };
    assert.deepEqual(
      s.savingsByDay.map((d) => [d.day, d.bytesSaved]),
      [['2026-01-01', 600_000]],
    );
    assert.deepEqual(s.savingsByLibrary, [
      { library: '/media/movies', bytesSaved: 600_000, filesReplaced: 1 },
    ]);
    assert.equal(s.compliance.length, 2);
  });

  it('GET /api/nodes is empty without a bus; /api/dry-run answers 503 without a policy', async () => {
    assert.deepEqual((await get('/api/nodes')).body, { nodes: [], unreadable: [], unserved: [] });
    const dry = await get('/api/dry-run');
    assert.equal(dry.status, 503);
    assert.match((dry.body as { message: string }).message, /without the policy/);
  });

  it('GET /api/dry-run serves the report the dryRun option computes', async () => {
    const report = {
      files: [],
      totals: {
        encode: 0,
        remux: 0,
        skip: 0,
        compliant: 0,
        damaged: 0,
        estimatedBytesSaved: 0,
        changes: 0,
      },
    };
    const s = await startStatusServer({
      readModels,
      log: silentLogger(),
      dryRun: async () => report,
    });
    try {
      const r = await get('/api/dry-run', s.url);
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, report);
    } finally {
      await s.close();
    }
  });

  it('serves the dashboard’s script, stylesheet and the bundled chart library', async () => {
    for (const [path, type] of [
      ['/', /text\/html/],
      ['/assets/app.js', /javascript/],
      ['/assets/files.js', /javascript/],
      ['/assets/activity.js', /javascript/],
      ['/assets/stats.js', /javascript/],
      ['/assets/shared.js', /javascript/],
      ['/assets/constants.js', /javascript/],
      ['/assets/app.css', /text\/css/],
      ['/assets/vendor/chart.umd.min.js', /javascript/],
    ] as const) {
      const res = await fetch(`${server.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', type, path);
    }
  });

  it('gives the dashboard every file status and sort key of the read model, from their one definition', async () => {
    const body = await (await fetch(`${server.url}/assets/constants.js`)).text();
    const statuses = JSON.parse(/STATUSES = (\[.*?\]);/.exec(body)?.[1] ?? 'null') as unknown;
    const sorts = JSON.parse(/SORT_KEYS = (\[.*?\]);/.exec(body)?.[1] ?? 'null') as unknown;
    assert.deepEqual(statuses, [...fileStatuses]);
    assert.ok(
      (statuses as string[]).includes('kept') && (statuses as string[]).includes('damaged'),
    );
    assert.deepEqual(sorts, [...fileSortKeys]);
  });
});

describe('status server read-model defects (issue 11)', () => {
  it('GET /api/files drops a failure reason once the file is compliant', async () => {
    const models = openReadModels(':memory:');
    const s = await startStatusServer({ readModels: models, log: silentLogger() });
    try {
      const compliant = wrap(
        {
          type: 'file.planned',
          data: { ...sampleData['file.planned'], decision: 'compliant', reasons: [], target: null },
        },
        { fileId: 'fagain', producer: 'test@host', time: new Date('2026-01-02T00:00:00.000Z') },
      );
      await applyEvent(models.db, sampleEvent('encode.failed', 'fagain'), 1);
      const failed = ((await get('/api/files', s.url)).body as FileRow[])[0];
      assert.match(failed?.reason ?? '', /ffmpeg exited 1/);
      await applyEvent(models.db, compliant, 2);
      const [row] = (await get('/api/files', s.url)).body as FileRow[];
      assert.equal(row?.status, 'compliant');
      assert.equal(row?.reason, null);
    } finally {
      await s.close();
      await models.close();
    }
  });

  it('GET /api/files/:id lists a file’s failures even behind 1,000 newer ones', async () => {
    const models = openReadModels(':memory:');
    const s = await startStatusServer({ readModels: models, log: silentLogger() });
    try {
      await applyEvent(models.db, sampleEvent('encode.failed', 'fold'), 1);
      const batch = Array.from({ length: 1_001 }, (_, i) => ({
        event: sampleEvent('encode.failed', `fnew${i}`),
        position: i + 2,
      }));
      applyBatch(models.sqlite, batch);
      const r = await get('/api/files/fold', s.url);
      assert.equal(r.status, 200);
      const failures = (r.body as { failures: { fileId: string }[] }).failures;
      assert.deepEqual(
        failures.map((f) => f.fileId),
        ['fold'],
      );
    } finally {
      await s.close();
      await models.close();
    }
  });
});
