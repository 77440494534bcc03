import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allEventTypes, sampleEvent, type EventEnvelope, type EventType } from '@conform/contracts';
import {
  applyBatch,
  applyEvent,
  bulkApplier,
  combineFileWrites,
  filesProjection,
  openReadModels,
} from '../src/index.js';
import { tables } from './sqlite-dump.js';

// Lifecycles that exercise every way writes to a file's row meet: a dead letter for a file not
// known yet (an update that must not create the row, then an upsert), a restore after a
// replacement (savings reads the file's bytes saved), an encode finished after a probe (jobs
// reads the duration), retries, removals, and every other event type once.
const lifecycles: EventType[][] = [
  [
    'message.deadlettered',
    'file.discovered',
    'file.probed',
    'file.planned',
    'encode.started',
    'encode.completed',
    'verify.passed',
    'file.replaced',
    'original.deleted',
    'file.restored',
  ],
  [
    'file.discovered',
    'file.probed',
    'file.planned',
    'encode.started',
    'encode.failed',
    'encode.started',
    'encode.completed',
    'verify.failed',
    'file.kept',
  ],
  [
    'file.discovered',
    'file.unreadable',
    'file.changed',
    'file.probed',
    'file.planned',
    'file.moved',
    'file.removed',
  ],
  [
    'file.discovered',
    'file.probed',
    'file.planned',
    'encode.started',
    'encode.requeued',
    'encode.started',
    'encode.completed',
    'verify.passed',
    'replace.failed',
    'restore.failed',
    'message.deadlettered',
  ],
  [...allEventTypes],
];

/** Three files per lifecycle, interleaved in a seeded random order, each event id unique. */
function interleavedLog(seed: number): EventEnvelope[] {
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const queues = [...lifecycles, ...lifecycles, ...lifecycles].map((types, f) =>
    types.map((type, i) => {
      const event = sampleEvent(type, `w${f}`);
      const id = `${event.id.slice(0, -4)}${String(f * 100 + i).padStart(4, '0')}`;
      // Every other file's encodes pass the plan's duration on, as the encoder does now; the
      // rest are events from before, whose speed comes from the files row.
      if (event.type === 'encode.completed' && f % 2 === 1) {
        return { ...event, id, data: { ...event.data, durationSec: 3 } };
      }
      return { ...event, id };
    }),
  );
  const log: EventEnvelope[] = [];
  while (queues.some((q) => q.length > 0)) {
    const open = queues.filter((q) => q.length > 0);
    log.push(open[Math.floor(random() * open.length)]!.shift()!);
  }
  return log;
}

describe('event writer (writes of a file folded within a transaction)', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`gives the same rows, in the same order, as one statement at a time (seed ${seed})`, async () => {
      const log = interleavedLog(seed);
      const oneByOne = openReadModels(':memory:');
      const batched = openReadModels(':memory:');
      const bulk = openReadModels(':memory:');
      try {
        for (const [i, event] of log.entries()) await applyEvent(oneByOne.db, event, i + 1);
        assert.equal(
          applyBatch(
            batched.sqlite,
            log.map((event, i) => ({ position: i + 1, event })),
          ),
          log.length,
        );
        const applier = bulkApplier(bulk.sqlite, { batchSize: 4 + seed });
        for (const [i, event] of log.entries()) applier.apply(i + 1, event);
        assert.equal(applier.commit(), log.length);
        const expected = tables(oneByOne);
        assert.equal(expected.files?.length, 3 * lifecycles.length, 'every file has a row');
        for (const name of ['jobs', 'savings', 'failures', 'dead_letters']) {
          assert.ok((expected[name]?.length ?? 0) > 0, `${name} has rows`);
        }
        assert.deepEqual(tables(batched), expected);
        assert.deepEqual(tables(bulk), expected);
      } finally {
        await Promise.all([oneByOne.close(), batched.close(), bulk.close()]);
      }
    });
  }

  /**
   * Two files' rows waiting when b's encode completes (a discovered, b discovered, probed and
   * started in the same batch): the job's speed and the files' insertion order after the batch.
   */
  const afterEncode = (completed: EventEnvelope) => {
    const log = [
      sampleEvent('file.discovered', 'a'),
      sampleEvent('file.discovered', 'b'),
      sampleEvent('file.probed', 'b'),
      sampleEvent('encode.started', 'b'),
      completed,
    ];
    const readModels = openReadModels(':memory:');
    try {
      applyBatch(
        readModels.sqlite,
        log.map((event, i) => ({ position: i + 1, event })),
      );
      const job = readModels.sqlite.prepare('select speed from jobs').get() as { speed: number };
      const order = readModels.sqlite.prepare('select file_id from files order by rowid').all();
      return { speed: job.speed, order };
    } finally {
      void readModels.close();
    }
  };

  it('writes the waiting rows before a statement that reads them', () => {
    // An encode.completed from before it carried the duration: the speed needs b's row.
    const completed = sampleEvent('encode.completed', 'b');
    assert.equal(completed.data.durationSec, undefined);
    const { speed, order } = afterEncode(completed);
    const { durationSec } = sampleEvent('file.probed', 'b').data.media;
    assert.equal(speed, (durationSec! * 1000) / completed.data.elapsedMs);
    assert.deepEqual(order, [{ file_id: 'a' }, { file_id: 'b' }]);
  });

  it('takes the speed from the duration an encode passes on, without the files row', () => {
    // The event's duration (3 s), not the probe's; the rows still go in first-seen order.
    const completed = sampleEvent('encode.completed', 'b');
    assert.notEqual(sampleEvent('file.probed', 'b').data.media.durationSec, 3);
    const { speed, order } = afterEncode({
      ...completed,
      data: { ...completed.data, durationSec: 3 },
    });
    assert.equal(speed, (3 * 1000) / completed.data.elapsedMs);
    assert.deepEqual(order, [{ file_id: 'a' }, { file_id: 'b' }]);
  });

  it('folds a file’s later write into the earlier one, keeping what the later one leaves null', () => {
    const [discovered] = filesProjection.evolve(sampleEvent('file.discovered', 'c1'), 1);
    const [probed] = filesProjection.evolve(sampleEvent('file.probed', 'c1'), 2);
    const [deadLettered] = filesProjection.evolve(sampleEvent('message.deadlettered', 'c1'), 3);
    const combined = combineFileWrites(discovered!, probed!)!;
    assert.equal(combined.sql, discovered!.sql);
    const params = combined.parameters as unknown[];
    // Status, sequence and reason from the later write; the probe's container kept.
    assert.equal(params[3], 'probed');
    assert.equal(params[6], 2);
    assert.ok(params.includes(sampleEvent('file.probed', 'c1').data.media.container));
    // An update (the dead letter) after an upsert folds into the upsert ...
    assert.equal(combineFileWrites(combined, deadLettered!)!.sql, discovered!.sql);
    // ... but an upsert after an update cannot: the row may not exist for the update.
    assert.equal(combineFileWrites(deadLettered!, discovered!), null);
  });
});
