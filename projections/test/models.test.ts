import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompiledQuery } from 'kysely';
import {
  sampleData,
  sampleEvent,
  validateEvent,
  wrap,
  type EventEnvelope,
  type EventType,
} from '@conform/contracts';
import {
  applyBatch,
  complianceByLibrary,
  getFile,
  lastAppliedSequence,
  listFailures,
  listJobs,
  listSavings,
  openReadModels,
  ProjectionSpecification,
  readModelProjections,
  readSummary,
  type Projection,
} from '../src/index.js';

/** A sample event of `type` for `fileId` at `time`, in `library` when given. */
function ev(type: EventType, fileId: string, time: string, library?: string): EventEnvelope {
  const base = sampleEvent(type, fileId);
  const data = library
    ? {
        ...base.data,
        library,
        path: `${library}/${fileId}.mp4`,
        newPath: `${library}/${fileId}.mkv`,
      }
    : base.data;
  return {
    ...base,
    id: `${base.id.slice(0, -4)}${time.slice(-8, -4)}`,
    time,
    data,
  } as EventEnvelope;
}

/** Read models folded from past events, then the new ones (each through applyBatch). */
const spec = ProjectionSpecification();

const T0 = '2026-03-01T10:00:00.000Z';
const T1 = '2026-03-01T10:00:05.000Z';
const T2 = '2026-03-02T09:00:00.000Z';

describe('jobs read model', () => {
  it('given a started encode, when it completes, the job has timings and speed', async () => {
    await spec(ev('file.probed', 'j1', T0), ev('encode.started', 'j1', T0))
      .when(ev('encode.completed', 'j1', T1))
      .then(async (rm) => {
        const [job] = await listJobs(rm.db);
        assert.equal(job?.outcome, 'encoded');
        assert.equal(job?.attempt, 1);
        assert.equal(job?.encoder, 'libx265');
        assert.equal(job?.elapsedMs, 1234);
        assert.equal(job?.outputSize, 400_000);
        // 2 s of media in 1.234 s of work.
        assert.ok(Math.abs((job?.speed ?? 0) - 2 / 1.234) < 1e-9);
        // This event predates the fps field: it still validates, and the job has no rate.
        assert.equal(validateEvent(ev('encode.completed', 'j1', T1)).ok, true);
        assert.equal(job?.fps, null);
      });
  });

  it('given an encode that reports its average fps, the job stores it beside the speed', async () => {
    const plain = ev('encode.completed', 'jf', T1) as EventEnvelope<'encode.completed'>;
    const completed = { ...plain, data: { ...plain.data, fps: 47.5 } };
    assert.deepEqual(validateEvent(completed), { ok: true, event: completed });
    await spec(ev('file.probed', 'jf', T0), ev('encode.started', 'jf', T0))
      .when(completed)
      .then(async (rm) => {
        const [job] = await listJobs(rm.db);
        assert.equal(job?.fps, 47.5);
        assert.ok(Math.abs((job?.speed ?? 0) - 2 / 1.234) < 1e-9);
      });
  });

  it('rejects an encode.completed whose fps is not a positive number', () => {
    const plain = ev('encode.completed', 'jz', T1) as EventEnvelope<'encode.completed'>;
    for (const fps of [0, -3, '30']) {
      const bad = { ...plain, data: { ...plain.data, fps } };
      assert.equal(validateEvent(bad).ok, false, `fps ${JSON.stringify(fps)}`);
    }
  });

  it('given two attempts, a failure closes the first and the second follows through to replaced', async () => {
    const second = ev('encode.started', 'j2', T1);
    const attempt2 = { ...second, data: { ...second.data, attempt: 2 } } as EventEnvelope;
    await spec(
      ev('encode.started', 'j2', T0),
      ev('encode.failed', 'j2', T1),
      attempt2,
      ev('encode.completed', 'j2', T2),
      ev('verify.passed', 'j2', T2),
    )
      .when(ev('file.replaced', 'j2', T2))
      .then(async (rm) => {
        const jobs = await listJobs(rm.db, { fileId: 'j2' });
        const byAttempt = new Map(jobs.map((j) => [j.attempt, j]));
        assert.equal(byAttempt.get(1)?.outcome, 'failed');
        assert.equal(byAttempt.get(1)?.elapsedMs, 5_000);
        assert.match(byAttempt.get(1)?.reason ?? '', /ffmpeg exited 1/);
        assert.equal(byAttempt.get(2)?.outcome, 'replaced');
      });
  });

  it('given an encode, when verification fails, the job is rejected naming the checks', async () => {
    await spec(ev('encode.started', 'j3', T0), ev('encode.completed', 'j3', T1))
      .when(ev('verify.failed', 'j3', T1))
      .then(async (rm) => {
        const [job] = await listJobs(rm.db);
        assert.equal(job?.outcome, 'rejected');
        assert.match(job?.reason ?? '', /audio-streams/);
      });
  });
});

describe('savings read model', () => {
  it('adds replacements per library and day, and a restore gives its saving back', async () => {
    await spec(
      ev('file.replaced', 'a1', T0, '/lib/a'),
      ev('file.replaced', 'a2', T1, '/lib/a'),
      ev('file.replaced', 'b1', T2, '/lib/b'),
    )
      .when(ev('file.restored', 'a1', T2, '/lib/a'))
      .then(async (rm) => {
        const rows = await listSavings(rm.db);
        const key = (r: { library: string; day: string }) => `${r.library}@${r.day}`;
        const byKey = new Map(rows.map((r) => [key(r), r]));
        assert.equal(byKey.get('/lib/a@2026-03-01')?.bytesSaved, 1_200_000);
        assert.equal(byKey.get('/lib/a@2026-03-01')?.filesReplaced, 2);
        assert.equal(byKey.get('/lib/b@2026-03-02')?.bytesSaved, 600_000);
        assert.equal(byKey.get('/lib/a@2026-03-02')?.bytesSaved, -600_000);
        assert.equal(byKey.get('/lib/a@2026-03-02')?.filesRestored, 1);
        assert.equal((await getFile(rm.db, 'a1'))?.status, 'restored');
        assert.equal((await readSummary(rm.db)).bytesSaved, 1_200_000);
      });
  });
});

describe('failures read model', () => {
  it('keeps every failure; open ones are each failed file’s latest while it is still failed', async () => {
    await spec(
      ev('encode.failed', 'f1', T0),
      ev('verify.failed', 'f1', T1),
      ev('file.unreadable', 'f2', T0),
      ev('replace.failed', 'f3', T0),
    )
      .when(ev('encode.started', 'f3', T1))
      .then(async (rm) => {
        const all = await listFailures(rm.db);
        assert.deepEqual(
          all.map((f) => [f.fileId, f.kind]),
          [
            ['f3', 'replace.failed'],
            ['f2', 'file.unreadable'],
            ['f1', 'verify.failed'],
            ['f1', 'encode.failed'],
          ],
        );
        const open = await listFailures(rm.db, { openOnly: true });
        assert.deepEqual(
          open.map((f) => [f.fileId, f.kind, f.fileStatus]),
          [
            ['f2', 'file.unreadable', 'unreadable'],
            ['f1', 'verify.failed', 'failed'],
          ],
        );
        assert.match(open[1]?.reason ?? '', /audio-streams measured 0, limit 1/);
      });
  });
});

describe('files media summary', () => {
  it('records the probe’s media summary and keeps it through later events', async () => {
    await spec(ev('file.probed', 'm1', T0), ev('file.planned', 'm1', T1))
      .when(ev('encode.started', 'm1', T1))
      .then(async (rm) => {
        const row = await getFile(rm.db, 'm1');
        const video = sampleData['file.probed'].media.video;
        assert.deepEqual(row?.media, {
          container: sampleData['file.probed'].media.container,
          videoCodec: video?.codec,
          width: video?.width,
          height: video?.height,
          durationSec: 2,
        });
        assert.equal(row?.sizeBytes, 1_000_000);
        assert.equal(row?.policyVersion, 'p1234');
        assert.equal(row?.status, 'encoding');
      });
  });
});

describe('compliance and summary', () => {
  const planned = (fileId: string, library: string, decision: 'encode' | 'compliant') =>
    wrap(
      {
        type: 'file.planned',
        data: {
          ...sampleData['file.planned'],
          library,
          path: `${library}/${fileId}.mp4`,
          decision,
        },
      },
      { fileId, producer: 'test@host', time: new Date(T0) },
    );

  it('counts compliant and replaced files over planned ones, per library', async () => {
    await spec(
      planned('c1', '/lib/a', 'compliant'),
      planned('c2', '/lib/a', 'encode'),
      planned('c3', '/lib/a', 'encode'),
      ev('file.replaced', 'c3', T1, '/lib/a'),
      ev('file.discovered', 'c4', T0, '/lib/a'),
      planned('d1', '/lib/b', 'encode'),
    )
      .when(ev('encode.started', 'd1', T1, '/lib/b'))
      .then(async (rm) => {
        assert.deepEqual(await complianceByLibrary(rm.db), [
          { library: '/lib/a', judged: 3, conforming: 2, percent: 66.7 },
          { library: '/lib/b', judged: 1, conforming: 0, percent: 0 },
        ]);
        const summary = await readSummary(rm.db);
        assert.equal(summary.total, 5);
        assert.equal(summary.queueDepth, 1);
        assert.equal(summary.compliance.percent, 50);
        assert.deepEqual(
          summary.activeEncodes.map((a) => [a.fileId, a.encoder, a.attempt]),
          [['d1', 'libx265', 1]],
        );
        assert.equal(summary.bytesSaved, 600_000);
        assert.equal(summary.appliedSequence, 7);
      });
  });
});

describe('an encode returned to the queue by a pause', () => {
  it('is queued with the reason, not a dead active encode, and its job is requeued', async () => {
    const requeued = wrap(
      {
        type: 'encode.requeued',
        data: {
          ...sampleData['encode.requeued'],
          reason: 'manual',
          detail: 'pause --now',
          abandoned: true,
        },
      },
      { fileId: 'q1', producer: 'encoder@test', time: new Date(T1) },
    );
    await spec(ev('file.planned', 'q1', T0), ev('encode.started', 'q1', T0))
      .when(requeued)
      .then(async (rm) => {
        const summary = await readSummary(rm.db);
        assert.deepEqual(summary.activeEncodes, []);
        assert.equal(summary.queueDepth, 1);
        const file = await getFile(rm.db, 'q1');
        assert.equal(file?.status, 'queued');
        assert.equal(file?.reason, 'waiting (manual): pause --now');
        const [job] = await listJobs(rm.db);
        assert.equal(job?.outcome, 'requeued');
      });
  });
});

describe('kept and damaged outcomes', () => {
  const at = (fileId: string) => ({ library: '/lib/k', path: `/lib/k/${fileId}.mp4` });
  const plannedAs = (fileId: string, decision: 'encode' | 'compliant' | 'damaged') =>
    wrap(
      {
        type: 'file.planned',
        data: {
          ...sampleData['file.planned'],
          ...at(fileId),
          decision,
          reasons: decision === 'damaged' ? ['the source failed its quick health check'] : ['x'],
          target: decision === 'encode' ? sampleData['file.planned'].target : null,
        },
      },
      { fileId, producer: 'test@host', time: new Date(T0) },
    );
  const sizeOnly = wrap(
    {
      type: 'verify.failed',
      data: {
        ...sampleData['verify.failed'],
        ...at('k1'),
        checks: [{ name: 'size-guard', passed: false, measured: 1.03, limit: 0.9 }],
      },
    },
    { fileId: 'k1', producer: 'test@host', time: new Date(T1) },
  );
  const kept = wrap(
    { type: 'file.kept', data: { ...sampleData['file.kept'], ...at('k1') } },
    { fileId: 'k1', producer: 'test@host', time: new Date(T1), causation: sizeOnly },
  );
  const guardStopped = wrap(
    {
      type: 'encode.failed',
      data: {
        ...sampleData['encode.failed'],
        ...at('k2'),
        reason: 'stopped at 40 %',
        permanent: true,
        sizeGuard: { measuredRatio: 1.4, limitRatio: 0.9 },
      },
    },
    { fileId: 'k2', producer: 'test@host', time: new Date(T1) },
  );

  it('shows kept and damaged files as such, records no failure, and leaves them out of compliance', async () => {
    await spec(
      plannedAs('c1', 'compliant'),
      plannedAs('e1', 'encode'),
      plannedAs('k1', 'encode'),
      sizeOnly,
      kept,
      plannedAs('k2', 'encode'),
      guardStopped,
    )
      .when(plannedAs('d1', 'damaged'))
      .then(async (rm) => {
        assert.equal((await getFile(rm.db, 'k1'))?.status, 'kept');
        assert.match((await getFile(rm.db, 'k1'))?.reason ?? '', /0\.97 of the source/);
        assert.equal((await getFile(rm.db, 'k2'))?.status, 'kept');
        assert.equal((await getFile(rm.db, 'd1'))?.status, 'damaged');
        assert.match((await getFile(rm.db, 'd1'))?.reason ?? '', /failed its quick health check/);
        assert.deepEqual(await listFailures(rm.db, {}), []);
        // c1 compliant, e1 queued: 1 of 2 judged; k1, k2 and d1 are not judged.
        assert.deepEqual(await complianceByLibrary(rm.db), [
          { library: '/lib/k', judged: 2, conforming: 1, percent: 50 },
        ]);
        const summary = await readSummary(rm.db);
        assert.deepEqual(summary.compliance.excluded, { unreadable: 0, kept: 2, damaged: 1 });
      });
  });
});

describe('applyBatch', () => {
  it('applies a batch with one checkpoint, skips invalid and already applied positions', async () => {
    const rm = openReadModels(':memory:');
    assert.equal(
      applyBatch(rm.sqlite, [
        { position: 1, event: ev('file.discovered', 'b1', T0) },
        { position: 2, event: null },
        { position: 3, event: ev('file.probed', 'b1', T1) },
      ]),
      3,
    );
    // A redelivered batch changes nothing.
    assert.equal(
      applyBatch(rm.sqlite, [{ position: 2, event: ev('file.discovered', 'b2', T0) }]),
      3,
    );
    assert.equal(await getFile(rm.db, 'b2'), null);
    assert.equal((await getFile(rm.db, 'b1'))?.lastSequence, 3);
    assert.equal(await lastAppliedSequence(rm.db), 3);
    await rm.close();
  });

  it('rolls back the whole batch and its checkpoint when one write fails', async () => {
    const rm = openReadModels(':memory:');
    const failing: Projection = {
      name: 'failing',
      canHandle: (type) => type === 'file.probed',
      init: () => [],
      evolve: () => [CompiledQuery.raw('insert into no_such_table values (1)')],
    };
    assert.throws(
      () =>
        applyBatch(
          rm.sqlite,
          [
            { position: 1, event: ev('file.discovered', 'x1', T0) },
            { position: 2, event: ev('file.probed', 'x1', T1) },
          ],
          { projections: [...readModelProjections, failing] },
        ),
      /no such table/,
    );
    assert.equal(await getFile(rm.db, 'x1'), null);
    assert.equal(await lastAppliedSequence(rm.db), 0);
    await rm.close();
  });
});
