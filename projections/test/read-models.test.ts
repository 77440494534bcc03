import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CompiledQuery } from 'kysely';
import { sampleData, sampleEvent, wrap, type EventEnvelope } from '@conform/contracts';
import {
  applyBatch,
  applyEvent,
  fileStatusCounts,
  filesProjection,
  getFile,
  lastAppliedSequence,
  listDeadLetters,
  listFiles,
  openReadModels,
  ProjectionSpecification,
  ReadModelOpenError,
  readModelProjections,
  skipPosition,
  type Projection,
  type ReadModels,
  WAL_AUTOCHECKPOINT_PAGES,
} from '../src/index.js';

/** Read models folded from past events, then the new ones (each through applyBatch). */
const spec = ProjectionSpecification();

/** For the tests of applyEvent itself: events applied one by one at positions 1..n. */
async function appliedOneByOne(...events: EventEnvelope[]): Promise<ReadModels> {
  const rm = openReadModels(':memory:');
  for (const [i, event] of events.entries()) await applyEvent(rm.db, event, i + 1);
  return rm;
}

async function statusOf(rm: ReadModels, fileId: string): Promise<string | undefined> {
  return (await getFile(rm.db, fileId))?.status;
}

function planned(
  fileId: string,
  decision: 'encode' | 'skip' | 'compliant',
  location: { library: string; path: string } = sampleData['file.planned'],
): EventEnvelope {
  return wrap(
    {
      type: 'file.planned',
      data: {
        ...sampleData['file.planned'],
        library: location.library,
        path: location.path,
        decision,
        reasons: [`because ${decision}`],
        policyVersion: `p-${decision}`,
      },
    },
    { fileId, producer: 'test@host', time: new Date('2026-01-02T00:00:00.000Z') },
  );
}

describe('files read model', () => {
  const expectedStatus = [
    ['file.discovered', 'discovered'],
    ['file.probed', 'probed'],
    ['file.unreadable', 'unreadable'],
    ['encode.started', 'encoding'],
    ['encode.completed', 'encoded'],
    ['encode.failed', 'failed'],
    ['verify.passed', 'verified'],
    ['verify.failed', 'failed'],
    ['file.replaced', 'replaced'],
    ['replace.failed', 'failed'],
  ] as const;

  for (const [type, status] of expectedStatus) {
    it(`${type} after discovery sets status ${status}`, async () => {
      await spec(sampleEvent('file.discovered', 'f1'))
        .when(sampleEvent(type, 'f1'))
        .then(async (rm) => {
          const [row] = await listFiles(rm.db);
          assert.equal(row?.status, status);
          assert.equal(row?.fileId, 'f1');
          assert.equal(row?.lastEventType, type);
          assert.equal(row?.lastEventId, sampleEvent(type, 'f1').id);
          assert.equal(row?.lastSequence, 2);
          assert.equal(row?.updatedAt, '2026-01-01T00:00:00.000Z');
        });
    });
  }

  it('file.planned maps encode/skip/compliant to queued/skipped/compliant with the policy version', async () => {
    await spec(planned('enc', 'encode'), planned('skp', 'skip'))
      .when(planned('cmp', 'compliant'))
      .then(async (rm) => {
        const byId = new Map((await listFiles(rm.db)).map((r) => [r.fileId, r]));
        assert.equal(byId.get('enc')?.status, 'queued');
        assert.equal(byId.get('skp')?.status, 'skipped');
        assert.equal(byId.get('skp')?.reason, 'because skip');
        assert.equal(byId.get('cmp')?.status, 'compliant');
        assert.equal(byId.get('enc')?.policyVersion, 'p-encode');
        assert.equal(byId.get('enc')?.updatedAt, '2026-01-02T00:00:00.000Z');
      });
  });

  it('creates a row from path and library when the first event seen is not a discovery', async () => {
    await spec()
      .when(sampleEvent('encode.started', 'late'))
      .then(async (rm) => {
        const row = await getFile(rm.db, 'late');
        assert.equal(row?.status, 'encoding');
        assert.equal(row?.path, sampleData['encode.started'].path);
        assert.equal(row?.library, sampleData['encode.started'].library);
      });
  });

  it('keeps failure reasons, naming the failing check or the encoder', async () => {
    await spec(
      sampleEvent('verify.failed', 'v'),
      sampleEvent('encode.failed', 'e'),
      sampleEvent('file.unreadable', 'u'),
    )
      .when(sampleEvent('replace.failed', 'r'))
      .then(async (rm) => {
        assert.match(
          (await getFile(rm.db, 'v'))?.reason ?? '',
          /audio-streams measured 0, limit 1/,
        );
        assert.match((await getFile(rm.db, 'e'))?.reason ?? '', /libx265.*ffmpeg exited 1/);
        assert.equal((await getFile(rm.db, 'u'))?.reason, sampleData['file.unreadable'].reason);
        assert.match((await getFile(rm.db, 'r'))?.reason ?? '', /source changed/);
      });
  });

  it('file.replaced moves the path and records the archive and the bytes saved', async () => {
    const replaced = wrap(
      {
        type: 'file.replaced',
        data: { ...sampleData['file.replaced'], newPath: '/media/movies/Film (2020)/Film.mkv' },
      },
      { fileId: 'rep', producer: 'test@host', time: new Date('2026-01-03T00:00:00.000Z') },
    );
    await spec(sampleEvent('file.discovered', 'rep'))
      .when(replaced)
      .then(async (rm) => {
        const row = await getFile(rm.db, 'rep');
        assert.equal(row?.path, '/media/movies/Film (2020)/Film.mkv');
        assert.equal(row?.archivePath, sampleData['file.replaced'].archivePath);
        assert.equal(row?.bytesSaved, 600_000);
        assert.equal(row?.status, 'replaced');
      });
  });

  it('message.deadlettered marks a known file and is recorded in dead_letters', async () => {
    await spec(sampleEvent('file.discovered', 'dl'))
      .when(sampleEvent('message.deadlettered', 'dl'))
      .then(async (rm) => {
        const row = await getFile(rm.db, 'dl');
        assert.equal(row?.status, 'dead-lettered');
        assert.equal(row?.reason, 'exhausted deliveries');
        assert.equal(row?.path, sampleData['file.discovered'].path);
        const [letter] = await listDeadLetters(rm.db);
        assert.equal(letter?.fileId, 'dl');
        assert.equal(letter?.consumer, 'encoder');
        assert.equal(letter?.sequence, 2);
      });
  });

  it('message.deadlettered for an unknown file creates no file row but keeps the dead letter', async () => {
    await spec()
      .when(sampleEvent('message.deadlettered', 'unknown'))
      .then(async (rm) => {
        assert.deepEqual(await listFiles(rm.db), []);
        assert.equal((await listDeadLetters(rm.db)).length, 1);
        assert.equal(await lastAppliedSequence(rm.db), 1);
      });
  });

  it('follows a whole lifecycle to replaced', async () => {
    const types = [
      'file.discovered',
      'file.probed',
      'file.planned',
      'encode.started',
      'encode.completed',
      'verify.passed',
      'file.replaced',
    ] as const;
    await spec()
      .when(...types.map((t) => sampleEvent(t, 'life')))
      .then(async (rm) => {
        const row = await getFile(rm.db, 'life');
        assert.equal(row?.status, 'replaced');
        assert.equal(row?.policyVersion, 'p1234');
        assert.equal(row?.lastSequence, 7);
      });
  });
});

describe('queries', () => {
  it('filters by status and library and pages in a stable order', async () => {
    const rm = openReadModels(':memory:');
    let seq = 0;
    for (const lib of ['/lib/a', '/lib/b']) {
      for (let i = 0; i < 3; i++) {
        const fileId = `${lib.slice(-1)}${i}`;
        const event = wrap(
          {
            type: 'file.discovered',
            data: { ...sampleData['file.discovered'], library: lib, path: `${lib}/m${i}.mp4` },
          },
          { fileId, producer: 'test@host', time: new Date() },
        );
        await applyEvent(rm.db, event, ++seq);
      }
    }
    await applyEvent(
      rm.db,
      planned('a1', 'encode', { library: '/lib/a', path: '/lib/a/m1.mp4' }),
      ++seq,
    );
    assert.deepEqual(
      (await listFiles(rm.db, { library: '/lib/b' })).map((r) => r.fileId),
      ['b0', 'b1', 'b2'],
    );
    assert.deepEqual(
      (await listFiles(rm.db, { status: 'queued' })).map((r) => r.fileId),
      ['a1'],
    );
    assert.deepEqual(
      (await listFiles(rm.db, { limit: 2, offset: 3 })).map((r) => r.fileId),
      ['b0', 'b1'],
    );
    assert.deepEqual(await fileStatusCounts(rm.db), { discovered: 5, queued: 1 });
    assert.equal(await lastAppliedSequence(rm.db), 7);
    await rm.close();
  });

  it('reads an empty database as zero', async () => {
    const rm = openReadModels(':memory:');
    assert.deepEqual(await fileStatusCounts(rm.db), {});
    assert.equal(await lastAppliedSequence(rm.db), 0);
    assert.equal(await lastAppliedSequence(rm.db, 'another'), 0);
    await rm.close();
  });
});

describe('checkpoint', () => {
  it('ignores an event at or below the checkpoint', async () => {
    const rm = await appliedOneByOne(
      sampleEvent('file.discovered', 'once'),
      sampleEvent('file.probed', 'once'),
    );
    const before = await listFiles(rm.db);
    assert.equal(await applyEvent(rm.db, sampleEvent('file.probed', 'once'), 2), false);
    assert.equal(await applyEvent(rm.db, sampleEvent('file.discovered', 'once'), 1), false);
    assert.deepEqual(await listFiles(rm.db), before);
    assert.equal(before[0]?.status, 'probed');
    assert.equal(await lastAppliedSequence(rm.db), 2);
    await rm.close();
  });

  it('moves rows and checkpoint together or not at all', async () => {
    const failing: Projection = {
      name: 'failing',
      canHandle: () => true,
      init: () => [],
      evolve: () => [CompiledQuery.raw('insert into no_such_table values (1)')],
    };
    const rm = await appliedOneByOne(sampleEvent('file.discovered', 'atomic'));
    const projections = [...readModelProjections, failing];
    // The files write runs before the failing one and succeeds; the failing write must undo it.
    assert.ok(projections.indexOf(filesProjection) < projections.indexOf(failing));
    await assert.rejects(
      applyEvent(rm.db, sampleEvent('file.probed', 'atomic'), 2, { projections }),
      /no such table/,
    );
    assert.equal(await statusOf(rm, 'atomic'), 'discovered');
    assert.equal(await lastAppliedSequence(rm.db), 1);
    await assert.rejects(
      applyEvent(rm.db, sampleEvent('file.discovered', 'fresh'), 2, { projections }),
    );
    assert.equal(await getFile(rm.db, 'fresh'), null);
    // And the same event applies normally once the fault is gone.
    assert.equal(await applyEvent(rm.db, sampleEvent('file.probed', 'atomic'), 2), true);
    assert.equal(await statusOf(rm, 'atomic'), 'probed');
    assert.equal(await lastAppliedSequence(rm.db), 2);
    await rm.close();
  });

  it('skips a position without touching rows', async () => {
    const rm = await appliedOneByOne(sampleEvent('file.discovered', 'sk'));
    assert.equal(await skipPosition(rm.db, 5), true);
    assert.equal(await skipPosition(rm.db, 5), false);
    assert.equal(await lastAppliedSequence(rm.db), 5);
    assert.equal(await applyEvent(rm.db, sampleEvent('file.probed', 'sk'), 4), false);
    assert.equal(await statusOf(rm, 'sk'), 'discovered');
    await rm.close();
  });

  it('keeps separate checkpoints per projector name', async () => {
    const rm = openReadModels(':memory:');
    await applyEvent(rm.db, sampleEvent('file.discovered', 'p'), 3, { projector: 'other' });
    assert.equal(await lastAppliedSequence(rm.db, 'other'), 3);
    assert.equal(await lastAppliedSequence(rm.db), 0);
    await rm.close();
  });
});

describe('openReadModels', () => {
  it('reopens a file with its rows and checkpoint intact (DDL is idempotent)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conform-read-models-'));
    try {
      const path = join(dir, 'rm.sqlite');
      const first = openReadModels(path);
      await applyEvent(first.db, sampleEvent('file.discovered', 'kept'), 1);
      await first.close();
      await assert.rejects(lastAppliedSequence(first.db), 'closed means closed');
      const again = openReadModels(path);
      assert.equal(await statusOf(again, 'kept'), 'discovered');
      assert.equal(await lastAppliedSequence(again.db), 1);
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('does not checkpoint the WAL at each live commit past SQLite default 1,000 pages', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conform-read-models-'));
    try {
      const path = join(dir, 'rm.sqlite');
      const live = openReadModels(path);
      const empty = statSync(path).size;
      // Live projector commits: a few hundred files each, 20 of them (about 6 MiB of WAL).
      let position = 0;
      for (let t = 0; t < 20; t++) {
        const batch = Array.from({ length: 300 }, () => {
          position++;
          const file = `/media/tv/${'Show With A Long Name '.repeat(8)}/Episode ${position}.mkv`;
          const event = wrap(
            { type: 'file.discovered', data: { ...sampleData['file.discovered'], path: file } },
            { fileId: `f${position}`, producer: 'test@host', time: new Date(0) },
          );
          return { position, event };
        });
        applyBatch(live.sqlite, batch);
      }
      const wal = statSync(`${path}-wal`).size;
      assert.ok(wal > 1_000 * 4096, `the WAL passed 1,000 pages (${wal} bytes)`);
      assert.ok(wal < WAL_AUTOCHECKPOINT_PAGES * 4096, `and stayed below the limit (${wal})`);
      assert.equal(statSync(path).size, empty, 'nothing was checkpointed into the file yet');
      assert.equal((await listFiles(live.db, { limit: 1_000_000 })).length, position);
      await live.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('closes a database that was never queried', async () => {
    const unused = openReadModels(':memory:');
    await unused.close();
    await unused.close(); // twice is harmless
    await assert.rejects(lastAppliedSequence(unused.db));
  });

  it('names the path when the file cannot be opened', () => {
    assert.throws(
      () => openReadModels('/nonexistent-dir/conform/rm.sqlite'),
      (err: unknown) =>
        err instanceof ReadModelOpenError &&
        err.code === 'READ_MODEL_OPEN' &&
        err.message.includes('/nonexistent-dir/conform/rm.sqlite'),
    );
  });
});
