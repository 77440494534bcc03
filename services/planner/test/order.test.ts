import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  decodeEvent,
  fileIdFor,
  sampleData,
  type DomainEvent,
  type FilePlannedData,
} from '@conform/contracts';
import {
  consumerSpec,
  EVENT_LOG_STREAM,
  EventPublisher,
  eventually,
  provisionConsumer,
  provisionEventLog,
  silentLogger,
  startTestBus,
  type RunningService,
  type TestBus,
} from '@conform/bus';
import { generateClip } from '@conform/media';
import { DEFAULT_POLICY, orderForQueue, startPlanner, type QueueRule } from '../src/index.js';

// Per-library order and priority, as the encode queue sees it: the encoder's durable consumer
// delivers file.planned in stream order, so the order the planner publishes in is the order
// encodes start (on every node sharing that consumer).

const ENCODE_QUEUE = consumerSpec('encoder', 'file.planned');

describe('queue order and priority on the real bus', () => {
  let t: TestBus;
  let planner: RunningService;
  let dir: string;
  let tv: string;
  let movies: string;

  before(async () => {
    t = await startTestBus('planner-order-test');
    dir = await mkdtemp(join(tmpdir(), 'conform-planner-order-'));
    tv = join(dir, 'tv');
    movies = join(dir, 'movies');
    await mkdir(tv);
    await mkdir(movies);
    await provisionEventLog(t.bus.jsm, { maxBytes: 64 * 1024 * 1024 });
    await provisionConsumer(t.bus.jsm, ENCODE_QUEUE);
    planner = await startPlanner(
      {
        bus: t.bus,
        publisher: new EventPublisher(t.bus.js, { producer: 'planner@test' }),
        log: silentLogger(),
        eventLog: { maxBytes: 64 * 1024 * 1024 },
      },
      {
        libraries: [
          { root: tv, policy: DEFAULT_POLICY, order: 'smallest' },
          { root: movies, policy: DEFAULT_POLICY, order: 'largest', priority: 10 },
        ],
        // Flushed as soon as all six are in: the batch is exactly this test's files.
        queueBatch: { windowMs: 30_000, max: 6 },
      },
    );
  });
  after(async () => {
    await planner?.stop();
    await t?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('movies (priority 10, largest first) are queued before tv (smallest first)', async () => {
    const files = [
      [tv, 'tv-2s.mkv', 2],
      [movies, 'movie-1s.mkv', 1],
      [tv, 'tv-3s.mkv', 3],
      [movies, 'movie-3s.mkv', 3],
      [tv, 'tv-1s.mkv', 1],
      [movies, 'movie-2s.mkv', 2],
    ] as const;
    for (const [library, name, durationSec] of files) {
      await generateClip({ path: join(library, name), videoCodec: 'h264', durationSec });
    }
    const publisher = new EventPublisher(t.bus.js, { producer: 'watcher@test' });
    for (const [library, name] of files) {
      const path = join(library, name);
      const s = await stat(path);
      await publisher.emit(
        {
          type: 'file.discovered',
          data: { library, path, relativePath: name, size: s.size, mtimeMs: s.mtimeMs },
        },
        { fileId: fileIdFor(library, name), discriminator: `${s.size}:${s.mtimeMs}` },
      );
    }
    const consumer = await t.bus.js.consumers.get(EVENT_LOG_STREAM, ENCODE_QUEUE.durable);
    const queued: string[] = [];
    await eventually(
      async () => {
        const msg = await consumer.next({ expires: 1_000 });
        if (msg) {
          const decoded = decodeEvent(msg.data);
          assert.ok(decoded.ok && decoded.event.type === 'file.planned');
          assert.equal(decoded.event.data.decision, 'encode');
          queued.push(basename(decoded.event.data.path));
          msg.ack();
        }
        return queued.length === files.length;
      },
      { what: 'six plans in the encode queue', timeoutMs: 60_000 },
    );
    assert.deepEqual(queued, [
      'movie-3s.mkv',
      'movie-2s.mkv',
      'movie-1s.mkv',
      'tv-1s.mkv',
      'tv-2s.mkv',
      'tv-3s.mkv',
    ]);
  });
});

describe('orderForQueue', () => {
  const plan = (library: string, over: Partial<FilePlannedData>, arrival: number) => ({
    library,
    arrival,
    events: [
      {
        type: 'file.planned',
        data: { ...sampleData['file.planned'], library, decision: 'encode', ...over },
      } as DomainEvent,
    ],
  });
  const names = (items: { arrival: number }[]) => items.map((i) => i.arrival);
  const rule = (order: QueueRule['order']) => () => ({ priority: 0, rank: 0, order });

  it('orders by saving, age, or not at all', () => {
    const batch = [
      plan('/l', { source: { size: 100, mtimeMs: 3 }, estimatedOutputBytes: 90 }, 0),
      plan('/l', { source: { size: 100, mtimeMs: 1 }, estimatedOutputBytes: 20 }, 1),
      plan('/l', { source: { size: 300, mtimeMs: 2 }, estimatedOutputBytes: 250 }, 2),
    ];
    assert.deepEqual(names(orderForQueue(batch, rule('biggest-saving'))), [1, 2, 0]);
    assert.deepEqual(names(orderForQueue(batch, rule('oldest'))), [1, 2, 0]);
    assert.deepEqual(names(orderForQueue(batch, rule('newest'))), [0, 2, 1]);
    assert.deepEqual(names(orderForQueue(batch, rule(null))), [0, 1, 2]);
  });
});
