import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sampleEvent, subjectFor, type EventType } from '@conform/contracts';
import {
  EventPublisher,
  provisionEventLog,
  silentLogger,
  startTestBus,
  type TestBus,
} from '@conform/bus';
import {
  openReadModels,
  readFileHistory,
  replayReadModels,
  startProjector,
  type ReadModels,
} from '../src/index.js';

let t: TestBus;
let dir: string;
before(async () => {
  t = await startTestBus('replay-test');
  await provisionEventLog(t.bus.jsm);
  dir = await mkdtemp(join(tmpdir(), 'conform-replay-'));
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
  'encode.failed',
  'encode.started',
  'encode.completed',
  'verify.passed',
  'file.replaced',
];

function tables(readModels: ReadModels): Record<string, unknown[]> {
  const names = readModels.sqlite
    .prepare("select name from sqlite_master where type = 'table' order by name")
    .all() as { name: string }[];
  return Object.fromEntries(
    names.map(({ name }) => [
      name,
      readModels.sqlite.prepare(`select * from "${name}" order by rowid`).all(),
    ]),
  );
}

describe('replay and history', () => {
  it('rebuilds every table row for row the same as the live projector built them', async () => {
    const publisher = new EventPublisher(t.bus.js, { producer: 'test@host' });
    let last = 0;
    for (const fileId of ['r1', 'r2', 'r3']) {
      for (const [i, type] of lifecycle.entries()) {
        const event = sampleEvent(type, fileId);
        // The same sample twice would be a duplicate; give repeats an id of their own.
        const unique = { ...event, id: `${event.id.slice(0, -2)}${String(i).padStart(2, '0')}` };
        last = (await publisher.publish(unique)).seq;
      }
    }
    await t.bus.js.publish(subjectFor('file.probed', 'r9'), 'not json');
    last = (await publisher.publish(sampleEvent('message.deadlettered', 'r1'))).seq;

    const livePath = join(dir, 'live.sqlite');
    const live = openReadModels(livePath);
    const projector = await startProjector(
      { bus: t.bus, publisher, log: silentLogger() },
      { readModels: live, maxBatch: 1 },
    );
    await projector.waitForSequence(last);
    await projector.stop();
    const before = tables(live);
    await live.close();

    const result = await replayReadModels(t.bus, livePath, { batchSize: 7 });
    assert.equal(result.appliedSequence, last);
    assert.equal(result.invalid, 1);
    const rebuilt = openReadModels(livePath);
    try {
      const after = tables(rebuilt);
      assert.deepEqual(Object.keys(after), Object.keys(before));
      for (const name of Object.keys(before)) {
        assert.ok(name === 'checkpoints' || (before[name]?.length ?? 0) > 0, `${name} has rows`);
        assert.deepEqual(after[name], before[name], `table ${name}`);
      }
    } finally {
      await rebuilt.close();
    }
  });

  it('reads one file’s history with its headers through a subject filter', async () => {
    const publisher = new EventPublisher(t.bus.js, { producer: 'planner@nas' });
    await publisher.publish(sampleEvent('file.discovered', 'h1'));
    await publisher.publish(sampleEvent('file.discovered', 'h2'));
    await publisher.publish(sampleEvent('file.planned', 'h1'));
    const history = await readFileHistory(t.bus, 'h1');
    assert.deepEqual(
      history.map((m) => [m.subject, m.event?.type, m.headers['Conform-Producer']]),
      [
        ['conform.evt.file.discovered.h1', 'file.discovered', 'test@localhost'],
        ['conform.evt.file.planned.h1', 'file.planned', 'test@localhost'],
      ],
    );
    assert.equal(history[1]?.headers['Nats-Msg-Id'], history[1]?.event?.id);
    assert.deepEqual(await readFileHistory(t.bus, 'nobody'), []);
  });
});
