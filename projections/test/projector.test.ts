import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CompiledQuery } from 'kysely';
import { sampleEvent, type EventType } from '@conform/contracts';
import {
  EventPublisher,
  silentLogger,
  startTestBus,
  type Logger,
  type ServiceContext,
  type TestBus,
} from '@conform/bus';
import {
  ProjectorWaitTimeoutError,
  fileStatusCounts,
  getFile,
  lastAppliedSequence,
  listFiles,
  openReadModels,
  readModelProjections,
  startProjector,
  type Projection,
  type ReadModels,
} from '../src/index.js';

let t: TestBus;
let publisher: EventPublisher;
let dir: string;
before(async () => {
  t = await startTestBus('projector-test');
  publisher = new EventPublisher(t.bus.js, { producer: 'test@host' });
  dir = await mkdtemp(join(tmpdir(), 'conform-projector-'));
});
after(async () => {
  await t.cleanup();
  await rm(dir, { recursive: true, force: true });
});

function context(log: Logger = silentLogger()): ServiceContext {
  return { bus: t.bus, publisher, log, eventLog: { maxBytes: 64 * 1024 * 1024 } };
}

async function publish(type: EventType, fileId: string): Promise<number> {
  const { seq, duplicate } = await publisher.publish(sampleEvent(type, fileId));
  assert.equal(duplicate, false);
  return seq;
}

/** Records every application, so a double apply shows up as a second row. */
const countingProjection: Projection = {
  name: 'applications',
  canHandle: () => true,
  init: () => [CompiledQuery.raw('create table if not exists applications (sequence integer)')],
  evolve: (_event, position) => [
    CompiledQuery.raw('insert into applications (sequence) values (?)', [position]),
  ],
};

async function applications(readModels: ReadModels): Promise<Map<number, number>> {
  const { rows } = await readModels.db.executeQuery<{ sequence: number; n: number }>(
    CompiledQuery.raw('select sequence, count(*) as n from applications group by sequence'),
  );
  return new Map(rows.map((r) => [r.sequence, r.n]));
}

/** Captures what the projector logs, to check a skipped message is reported. */
function capturingLogger(): { log: Logger; entries: { level: string; args: unknown[] }[] } {
  const entries: { level: string; args: unknown[] }[] = [];
  const log: Logger = new Proxy({} as Logger, {
    get: (_target, prop) => {
      if (prop === 'child') return () => log;
      return (...args: unknown[]) => void entries.push({ level: String(prop), args });
    },
  });
  return { log, entries };
}

describe('projector on a real event log', () => {
  it('applies published events to the read models', async () => {
    const readModels = openReadModels(join(dir, 'live.sqlite'));
    const projector = await startProjector(context(), { readModels });
    try {
      await publish('file.discovered', 'live1');
      await publish('file.discovered', 'live2');
      const last = await publish('file.planned', 'live1');
      await projector.waitForSequence(last);
      assert.equal((await getFile(readModels.db, 'live1'))?.status, 'queued');
      assert.equal((await getFile(readModels.db, 'live2'))?.status, 'discovered');
      assert.equal(await lastAppliedSequence(readModels.db), last);
    } finally {
      await projector.stop();
      await readModels.close();
    }
  });

  it('resumes after a restart from its checkpoint, applying every event exactly once', async () => {
    const path = join(dir, 'restart.sqlite');
    const projections = [...readModelProjections, countingProjection];
    const open = async () => {
      const readModels = openReadModels(path);
      for (const q of countingProjection.init()) await readModels.db.executeQuery(q);
      return readModels;
    };

    const ours: number[] = [];
    let readModels = await open();
    let projector = await startProjector(context(), { readModels, projections });
    for (let i = 0; i < 5; i++) ours.push(await publish('file.discovered', `restart${i}`));
    await projector.waitForSequence(ours.at(-1) ?? 0);
    await projector.stop();
    await readModels.close();

    for (let i = 5; i < 10; i++) ours.push(await publish('file.discovered', `restart${i}`));
    ours.push(await publish('file.probed', 'restart0'));

    readModels = await open();
    const checkpoint = await lastAppliedSequence(readModels.db);
    assert.ok(checkpoint >= ours[4]! && checkpoint < ours[5]!, `checkpoint ${checkpoint}`);
    projector = await startProjector(context(), { readModels, projections });
    try {
      const last = ours.at(-1) ?? 0;
      await projector.waitForSequence(last);
      const applied = await applications(readModels);
      for (const seq of ours) assert.equal(applied.get(seq), 1, `sequence ${seq}`);
      assert.ok(
        [...applied.values()].every((n) => n === 1),
        'no sequence applied twice',
      );
      const rows = (await listFiles(readModels.db, { limit: 1000 })).filter((r) =>
        r.fileId.startsWith('restart'),
      );
      assert.equal(rows.length, 10);
      assert.equal(rows.filter((r) => r.status === 'probed').length, 1);
      assert.equal(await lastAppliedSequence(readModels.db), last);
    } finally {
      await projector.stop();
      await readModels.close();
    }
  });

  it('logs and skips a malformed message, then keeps applying later events', async () => {
    const readModels = openReadModels(join(dir, 'malformed.sqlite'));
    const { log, entries } = capturingLogger();
    const projector = await startProjector(context(log), { readModels });
    try {
      const notJson = await t.bus.js.publish('conform.evt.file.discovered.x', 'not json');
      const wrongShape = await t.bus.js.publish(
        'conform.evt.file.discovered.x',
        JSON.stringify({ type: 'file.discovered', version: 1, data: {} }),
      );
      const good = await publish('file.discovered', 'aftermalformed');
      await projector.waitForSequence(good);
      assert.equal((await getFile(readModels.db, 'aftermalformed'))?.status, 'discovered');
      assert.equal(await getFile(readModels.db, 'x'), null);
      assert.equal(await lastAppliedSequence(readModels.db), good);
      const skipped = entries
        .filter((e) => e.level === 'error')
        .map((e) => e.args[0] as { subject: string; seq: number; error: string });
      assert.deepEqual(
        skipped.filter((s) => s.subject === 'conform.evt.file.discovered.x').map((s) => s.seq),
        [notJson.seq, wrongShape.seq],
      );
      assert.match(skipped.find((s) => s.seq === notJson.seq)?.error ?? '', /not JSON/);
      assert.match(skipped.find((s) => s.seq === wrongShape.seq)?.error ?? '', /missing key "id"/);
    } finally {
      await projector.stop();
      await readModels.close();
    }
  });

  it('recovers from a failed apply by re-creating the consumer at the checkpoint', async () => {
    const calls: string[] = [];
    const flaky: Projection = {
      name: 'flaky',
      canHandle: () => true,
      init: () => [],
      evolve: (event) => {
        if (event.fileId !== 'flaky') return [];
        calls.push(event.type);
        if (calls.length === 1) {
          return [CompiledQuery.raw('insert into no_such_table values (1)')];
        }
        return [];
      },
    };
    const readModels = openReadModels(':memory:');
    const { log, entries } = capturingLogger();
    const projector = await startProjector(context(log), {
      readModels,
      projections: [...readModelProjections, flaky],
      retryDelayMs: 20,
    });
    try {
      const seq = await publish('file.discovered', 'flaky');
      const next = await publish('file.probed', 'flaky');
      await projector.waitForSequence(next);
      // The first attempt failed and rolled back; the event was then applied once more.
      assert.deepEqual(calls, ['file.discovered', 'file.discovered', 'file.probed']);
      assert.equal((await getFile(readModels.db, 'flaky'))?.status, 'probed');
      assert.ok(
        // Catching up, the failed event's whole batch rolled back: it resumes at or before it.
        entries.some((e) => {
          const from = (e.args[0] as { from?: number }).from;
          return e.level === 'warn' && from !== undefined && from <= seq;
        }),
        'the restart is logged with the sequence it resumes from',
      );
    } finally {
      await projector.stop();
      await readModels.close();
    }
  });

  it('rebuilds the same answers from sequence 1 into a fresh database', async () => {
    const last = await publish('file.discovered', 'rebuild');
    const first = openReadModels(join(dir, 'first.sqlite'));
    const second = openReadModels(':memory:');
    const a = await startProjector(context(), { readModels: first });
    const b = await startProjector(context(), { readModels: second });
    try {
      await a.waitForSequence(last);
      await b.waitForSequence(last);
      assert.deepEqual(
        await listFiles(second.db, { limit: 1000 }),
        await listFiles(first.db, { limit: 1000 }),
      );
      assert.deepEqual(await fileStatusCounts(second.db), await fileStatusCounts(first.db));
    } finally {
      await a.stop();
      await b.stop();
      await first.close();
      await second.close();
    }
  });

  it('rejects a wait for a sequence that never comes', async () => {
    const readModels = openReadModels(':memory:');
    const projector = await startProjector(context(), { readModels });
    try {
      await assert.rejects(projector.waitForSequence(1_000_000, 200), ProjectorWaitTimeoutError);
    } finally {
      await projector.stop();
      await readModels.close();
    }
  });
});
