// Replay and history against a real nats-server: the rebuilt read models row for row, malformed
// messages, and the live file left as it was by a replay that fails or whose process dies. One
// file: the cases share one bus and one log, each adding its own events.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
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
  ReplayError,
  startBulkWriter,
  startProjector,
  type InvalidMessage,
} from '../src/index.js';
import { indexes, tables } from './sqlite-dump.js';

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

describe('replay and history', () => {
  it('rebuilds every table row for row the same as the live projector built them', async () => {
    // Its writer thread started ahead, as `conform replay` starts it while nats-server restores.
    const writer = startBulkWriter();
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
    const liveIndexes = indexes(live);
    assert.ok(liveIndexes.length >= 5, liveIndexes.join());
    await live.close();

    const result = await replayReadModels(t.bus, livePath, { batchSize: 7, writer });
    await writer.close();
    assert.equal(result.appliedSequence, last);
    assert.equal(result.invalid, 1);
    const rebuilt = openReadModels(livePath);
    try {
      // Built at the end of the bulk load, the same indexes the live file has; and back in WAL.
      assert.deepEqual(indexes(rebuilt), liveIndexes);
      assert.equal(rebuilt.sqlite.pragma('journal_mode', { simple: true }), 'wal');
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

  it(
    'stops a writer started ahead that no load used, and gives a writer one load',
    { timeout: 60_000 },
    async () => {
      // close resolves once the thread has exited: a thread left running would hang here.
      await startBulkWriter().close();
      const writer = startBulkWriter();
      const once = await replayReadModels(t.bus, join(dir, 'once.sqlite'), { writer });
      assert.ok(once.appliedSequence > 0);
      await assert.rejects(
        replayReadModels(t.bus, join(dir, 'twice.sqlite'), { writer }),
        /serves one load/,
      );
      await writer.close();
    },
  );

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

  it('reports a malformed message in the middle of the log and folds in the rest', async () => {
    const publisher = new EventPublisher(t.bus.js, { producer: 'test@host' });
    await publisher.publish(sampleEvent('file.discovered', 'm1'));
    const notJson = (await t.bus.js.publish(subjectFor('file.probed', 'm1'), '{"type": ')).seq;
    const planned = structuredClone(sampleEvent('file.planned', 'm1')) as unknown as {
      data: Record<string, unknown>;
    };
    planned.data.decision = 'maybe';
    const badField = (
      await t.bus.js.publish(subjectFor('file.planned', 'm1'), JSON.stringify(planned))
    ).seq;
    const last = (await publisher.publish(sampleEvent('file.discovered', 'm2'))).seq;

    const livePath = join(dir, 'malformed.sqlite');
    const invalid: InvalidMessage[] = [];
    const result = await replayReadModels(t.bus, livePath, {
      batchSize: 2,
      onInvalid: (m) => invalid.push(m),
    });
    assert.equal(result.appliedSequence, last);
    const mine = invalid.filter((m) => m.sequence >= notJson);
    assert.deepEqual(
      mine.map((m) => [m.sequence, m.subject]),
      [
        [notJson, 'conform.evt.file.probed.m1'],
        [badField, 'conform.evt.file.planned.m1'],
      ],
    );
    assert.match(mine[0]!.error, /not JSON/);
    assert.match(mine[1]!.error, /file\.planned v1: \/data\/decision: must be equal to one of/);
    assert.equal(result.invalid, invalid.length);
    const rebuilt = openReadModels(livePath);
    try {
      const rows = rebuilt.sqlite
        .prepare("select file_id, status from files where file_id in ('m1', 'm2') order by 1")
        .all();
      assert.deepEqual(rows, [
        { file_id: 'm1', status: 'discovered' },
        { file_id: 'm2', status: 'discovered' },
      ]);
    } finally {
      await rebuilt.close();
    }
  });

  it('leaves the live read models as they were when a replay fails part way', async () => {
    const publisher = new EventPublisher(t.bus.js, { producer: 'test@host' });
    for (const fileId of ['k1', 'k2', 'k3']) {
      await publisher.publish(sampleEvent('file.discovered', fileId));
    }
    const livePath = join(dir, 'intact.sqlite');
    await replayReadModels(t.bus, livePath);
    const live = openReadModels(livePath);
    const before = tables(live);
    await live.close();
    assert.ok((before.files?.length ?? 0) >= 3);

    // The writing side fails after the first batch was applied to the staging file.
    let batches = 0;
    await assert.rejects(
      replayReadModels(t.bus, livePath, {
        batchSize: 2,
        onProgress: () => {
          if (++batches === 2) throw new Error('disk full (simulated)');
        },
      }),
      (err: unknown) => err instanceof ReplayError && /disk full \(simulated\)/.test(err.message),
    );
    assert.ok(batches >= 2);
    await assert.rejects(access(`${livePath}.replay`), /ENOENT/, 'the staging file is removed');
    const after = openReadModels(livePath);
    try {
      assert.deepEqual(tables(after), before);
    } finally {
      await after.close();
    }
  });

  it('leaves the live read models as they were when the replaying process dies part way', async () => {
    const publisher = new EventPublisher(t.bus.js, { producer: 'test@host' });
    for (let i = 0; i < 300; i++) await publisher.publish(sampleEvent('file.discovered', `c${i}`));
    const livePath = join(dir, 'crash.sqlite');
    const first = await replayReadModels(t.bus, livePath);
    await publisher.publish(sampleEvent('file.discovered', 'c-after'));
    const live = openReadModels(livePath);
    const before = tables(live);
    await live.close();

    // Another process replays and is killed (SIGKILL: no clean-up of any kind) after its
    // third commit into the staging file, mid-load.
    // A script file, not --eval: the replay's worker thread inherits the node flags.
    const script = join(dir, 'replay-and-die.mjs');
    await writeFile(
      script,
      `const [busIndex, index, url, path] = process.argv.slice(2);
       const { connectBus } = await import(busIndex);
       const { replayReadModels } = await import(index);
       const bus = await connectBus({ servers: url, name: 'replay-crash' });
       let commits = 0;
       await replayReadModels(bus, path, {
         batchSize: 50,
         onProgress: () => { if (++commits === 3) process.kill(process.pid, 'SIGKILL'); },
       });`,
    );
    const child = spawn(
      process.execPath,
      [
        script,
        import.meta.resolve('@conform/bus'),
        new URL('../src/index.js', import.meta.url).href,
        t.server.url,
        livePath,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const signal = await new Promise((resolve) => child.once('exit', (_code, sig) => resolve(sig)));
    assert.equal(signal, 'SIGKILL', stderr);
    await access(`${livePath}.replay`); // the half-built staging file is what the crash left
    const after = openReadModels(livePath);
    try {
      assert.deepEqual(tables(after), before);
    } finally {
      await after.close();
    }

    // The next replay starts the staging file afresh and swaps in the whole log.
    const result = await replayReadModels(t.bus, livePath);
    await assert.rejects(access(`${livePath}.replay`), /ENOENT/);
    const rebuilt = openReadModels(livePath);
    try {
      const files = tables(rebuilt).files ?? [];
      assert.equal(files.length, (before.files?.length ?? 0) + 1);
      assert.ok(files.some((row) => (row as { file_id: string }).file_id === 'c-after'));
      assert.equal(result.invalid, first.invalid);
      assert.equal(result.messages, first.messages + 1);
    } finally {
      await rebuilt.close();
    }
  });

  it('fails with the reason when the staging file cannot be written', async () => {
    const publisher = new EventPublisher(t.bus.js, { producer: 'test@host' });
    await publisher.publish(sampleEvent('file.discovered', 'x1'));
    const livePath = join(dir, 'no-such-dir', 'read-models.sqlite');
    await assert.rejects(
      replayReadModels(t.bus, livePath),
      (err: unknown) =>
        err instanceof ReplayError &&
        err.message.includes(`${livePath}.replay`) &&
        /cannot open read models/.test(err.message),
    );
  });
});
