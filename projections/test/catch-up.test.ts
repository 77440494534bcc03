import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sampleEvent, subjectFor, type EventType } from '@conform/contracts';
import {
  EventPublisher,
  provisionEventLog,
  recordingLogger,
  silentLogger,
  startTestBus,
  type Logger,
  type TestBus,
} from '@conform/bus';
import {
  lastAppliedSequence,
  openReadModels,
  replayReadModels,
  startProjector,
} from '../src/index.js';
import { indexes, tables } from './sqlite-dump.js';

let t: TestBus;
let dir: string;
let publisher: EventPublisher;
before(async () => {
  t = await startTestBus('catch-up-test');
  await provisionEventLog(t.bus.jsm);
  publisher = new EventPublisher(t.bus.js, { producer: 'test@host' });
  dir = await mkdtemp(join(tmpdir(), 'conform-catch-up-'));
});
after(async () => {
  await t.cleanup();
  await rm(dir, { recursive: true, force: true });
});

const lifecycle: EventType[] = [
  'file.discovered',
  'file.probed',
  'file.planned',
  'encode.started',
  'encode.completed',
  'verify.passed',
  'file.replaced',
  'original.deleted',
];

let unique = 0;
/** Publishes one step of a file's lifecycle (ids unique, so none is a duplicate). */
async function publishStep(type: EventType, fileId: string): Promise<number> {
  const event = sampleEvent(type, fileId);
  const id = `${event.id.slice(0, -6)}${String(unique++).padStart(6, '0')}`;
  const { seq, duplicate } = await publisher.publish({ ...event, id });
  assert.equal(duplicate, false);
  return seq;
}

/** `files` files' lifecycles, interleaved step by step; returns the last sequence. */
async function publishLog(prefix: string, files: number, steps = lifecycle): Promise<number> {
  let last = 0;
  for (const type of steps) {
    for (let f = 0; f < files; f++) last = await publishStep(type, `${prefix}${f}`);
  }
  return last;
}

/** Runs a projector on a fresh file until `last`, then `live` (its last sequence), then stops. */
async function project(
  name: string,
  log: Logger,
  bulkCatchUpMin: number,
  last: number,
  live: () => Promise<number>,
): Promise<{ rows: Record<string, unknown[]>; indexes: string[] }> {
  const readModels = openReadModels(join(dir, `${name}.sqlite`));
  const projector = await startProjector(
    { bus: t.bus, publisher, log, eventLog: {} },
    { readModels, bulkCatchUpMin },
  );
  try {
    await projector.waitForSequence(last, 60_000);
    await projector.waitForSequence(await live(), 60_000);
  } finally {
    await projector.stop();
  }
  const result = { rows: tables(readModels), indexes: indexes(readModels) };
  await readModels.close();
  return result;
}

describe('projector catching up in bulk', () => {
  it('catches up a fresh read model in bulk, then live, row for row as a full replay', async () => {
    // The log a fresh read model finds: 40 files, a malformed message in the middle.
    await publishLog('old', 20);
    await t.bus.js.publish(subjectFor('file.probed', 'old0'), 'not json');
    const last = await publishLog('older', 20, lifecycle.slice(0, 5));

    const { log, records } = recordingLogger();
    let duringCatchUp = 0;
    // Live events: some published while the bulk load may still run (the hand-over must
    // neither lose nor repeat them), the rest once the projector applied the old log.
    const bulk = await project('bulk', log, 50, last, async () => {
      // Each leaves a row of its own in failures: one lost would show.
      duringCatchUp = await publishLog('new', 3, ['file.unreadable', 'file.discovered']);
      // The rest of the older files' lifecycles: replacements count into savings, so an event
      // applied twice would show there.
      return publishLog('older', 20, lifecycle.slice(5));
    });
    assert.ok(duringCatchUp > last);
    const started = records.find((r) => r.msg === 'catching up in bulk');
    assert.ok(started, 'the bulk path ran');
    assert.equal(started.from, 1);
    assert.equal(started.dropIndexes, true);
    assert.ok(records.some((r) => r.msg === 'caught up in bulk'));
    assert.ok(
      records.some((r) => r.msg === 'skipping a message that is not a valid event'),
      'the malformed message reported',
    );

    // The same log through the per-batch consumer only, and rebuilt by a replay.
    const perBatch = await project('per-batch', silentLogger(), Infinity, last, async () => {
      const info = await t.bus.jsm.streams.info('CONFORM_EVENTS');
      return info.state.last_seq;
    });
    const replayPath = join(dir, 'replayed.sqlite');
    await replayReadModels(t.bus, replayPath);
    const replayed = openReadModels(replayPath);
    const expected = tables(replayed);
    const expectedIndexes = indexes(replayed);
    await replayed.close();

    assert.ok((expected.savings?.length ?? 0) > 0 && (expected.jobs?.length ?? 0) > 0);
    assert.equal(expected.failures?.length, 3);
    assert.equal(expected.files?.length, 43);
    // Every index back once the bulk load is over.
    assert.deepEqual(bulk.indexes, expectedIndexes);
    for (const name of Object.keys(expected)) {
      assert.deepEqual(bulk.rows[name], expected[name], `table ${name} (bulk catch-up)`);
      assert.deepEqual(perBatch.rows[name], expected[name], `table ${name} (per batch)`);
    }
  });

  it('resumes in bulk from a checkpoint part way, keeping the indexes of a bigger table', async () => {
    const readModels = openReadModels(join(dir, 'resume.sqlite'));
    const first = await publishLog('res', 30, lifecycle.slice(0, 1));
    const { log, records } = recordingLogger();
    let projector = await startProjector(
      { bus: t.bus, publisher, log: silentLogger(), eventLog: {} },
      { readModels, bulkCatchUpMin: Infinity },
    );
    await projector.waitForSequence(first);
    await projector.stop();
    // Fewer new sequences than rows in `files`: the indexes stay while it catches up.
    const last = await publishLog('res', 10, lifecycle.slice(1, 3));
    projector = await startProjector(
      { bus: t.bus, publisher, log, eventLog: {} },
      { readModels, bulkCatchUpMin: 5 },
    );
    try {
      await projector.waitForSequence(last, 60_000);
      const started = records.find((r) => r.msg === 'catching up in bulk');
      assert.equal(started?.dropIndexes, false);
      assert.equal(started?.from, first + 1);
      const statuses = readModels.sqlite
        .prepare("select status, count(*) as n from files where file_id like 'res%' group by 1")
        .all();
      assert.deepEqual(statuses, [
        { status: 'discovered', n: 20 },
        { status: 'queued', n: 10 },
      ]);
    } finally {
      await projector.stop();
      await readModels.close();
    }
  });

  it('stops part way through a bulk catch-up and resumes without losing or repeating', async () => {
    await publishLog('stop', 40, ['file.unreadable', ...lifecycle]);
    const last = (await t.bus.jsm.streams.info('CONFORM_EVENTS')).state.last_seq;
    const path = join(dir, 'stopped.sqlite');
    const readModels = openReadModels(path);
    const { log, records } = recordingLogger();
    const context = { bus: t.bus, publisher, log, eventLog: {} };
    let projector = await startProjector(context, { readModels, bulkCatchUpMin: 10 });
    // Stopped as soon as the bulk load has committed something (or right away if it is done).
    for (let i = 0; i < 200 && (await lastAppliedSequence(readModels.db)) === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await projector.stop();
    assert.ok(records.some((r) => r.msg === 'catching up in bulk'));
    const stoppedAt = await lastAppliedSequence(readModels.db);
    assert.ok(stoppedAt > 0 && stoppedAt <= last, `stopped at ${stoppedAt} of ${last}`);
    const fresh = openReadModels(':memory:');
    // The indexes are back after the stop, whatever it interrupted.
    assert.deepEqual(indexes(readModels), indexes(fresh));
    await fresh.close();

    projector = await startProjector(context, { readModels, bulkCatchUpMin: 10 });
    try {
      await projector.waitForSequence(last, 60_000);
    } finally {
      await projector.stop();
    }
    const rows = tables(readModels);
    await readModels.close();
    const replayPath = join(dir, 'replayed-after-stop.sqlite');
    await replayReadModels(t.bus, replayPath, { batchSize: 7 });
    const replayed = openReadModels(replayPath);
    try {
      const expected = tables(replayed);
      assert.equal(expected.failures?.length, 3 + 40);
      for (const name of Object.keys(expected)) {
        assert.deepEqual(rows[name], expected[name], `table ${name}`);
      }
    } finally {
      await replayed.close();
    }
  });
});
