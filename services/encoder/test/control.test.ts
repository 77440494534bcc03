import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CONTROL_FILE_ID,
  decodeProgress,
  PROGRESS_SUBJECT_WILDCARD,
  sampleData,
  subjectFor,
  type EncodeProgressMessage,
  type EventEnvelope,
  type EventType,
} from '@conform/contracts';
import {
  EVENT_LOG_STREAM,
  EventPublisher,
  eventually,
  silentLogger,
  startTestBus,
  type ServiceContext,
  type TestBus,
} from '@conform/bus';
import { generateClip, probeMedia, processesMentioning } from '@conform/media';
import { detectEncodersOnce, outputPathFor, startEncoder } from '../src/index.js';

let t: TestBus;
let library: string;
let publisher: EventPublisher;
const context = (producer: string): ServiceContext => ({
  bus: t.bus,
  publisher: new EventPublisher(t.bus.js, { producer }),
  log: silentLogger(),
  eventLog: { maxBytes: 64 * 1024 * 1024 },
});

before(async () => {
  t = await startTestBus('encoder-control-test');
  publisher = new EventPublisher(t.bus.js, { producer: 'test@host' });
  library = await mkdtemp(join(tmpdir(), 'conform-encoder-control-'));
});
after(async () => {
  await t.cleanup();
  await rm(library, { recursive: true, force: true });
});

async function plan(fileId: string, durationSec: number, extra: object = {}) {
  const path = join(library, `${fileId}.mkv`);
  await generateClip({ path, durationSec });
  return publisher.emit(
    {
      type: 'file.planned',
      data: {
        ...sampleData['file.planned'],
        library,
        path,
        source: { size: 50_000_000, mtimeMs: 1 },
        target: { videoCodec: 'hevc', container: 'mkv' },
        durationSec,
        ...extra,
      },
    },
    { fileId },
  );
}

async function eventsOf<T extends EventType>(type: T, fileId: string): Promise<EventEnvelope<T>[]> {
  const found: EventEnvelope<T>[] = [];
  const info = await t.bus.jsm.streams.info(EVENT_LOG_STREAM, {
    subjects_filter: subjectFor(type, fileId),
  });
  const count = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
  if (count === 0) return found;
  const consumer = await t.bus.js.consumers.get(EVENT_LOG_STREAM, {
    filter_subjects: subjectFor(type, fileId),
  });
  const messages = await consumer.consume();
  for await (const m of messages) {
    found.push(m.json<EventEnvelope<T>>());
    if (m.info.pending === 0) break;
  }
  await messages.close();
  return found;
}

async function control(
  action: 'pause' | 'resume' | 'retry',
  fileId = CONTROL_FILE_ID,
  now = false,
) {
  return publisher.emit(
    {
      type: 'control.requested',
      data: {
        action,
        path: action === 'retry' ? join(library, `${fileId}.mkv`) : null,
        now,
        requestedBy: 'test',
      },
    },
    { fileId, discriminator: `${action}-${Date.now()}-${Math.random()}` },
  );
}

describe('pause, resume, retry, progress and the size guard on the real bus', () => {
  it('pause stops pulling and is an event; --now returns a running encode; resume finishes it', async () => {
    const availability = await detectEncodersOnce();
    const encoder = await startEncoder(context('encoder-p@host'), {
      node: 'node-p',
      availability,
      // These tests are about pause and sharing, not priority: at the default niceness 19 a
      // busy CI machine (the other workspaces' tests at normal priority) starved the encodes
      // past the test's wait (niceness.test.ts covers the default).
      niceness: 0,
      checkIntervalMs: 200,
      minFreeBytes: 0,
      retryDelayMs: 200,
    });
    try {
      const progress: EncodeProgressMessage[] = [];
      const sub = t.bus.nc.subscribe(PROGRESS_SUBJECT_WILDCARD, {
        callback: (_err, msg) => {
          const decoded = decodeProgress(msg.data);
          assert.ok(decoded.ok, decoded.ok ? '' : decoded.error);
          progress.push(decoded.progress);
        },
      });
      const planned = await plan('longp', 20);
      const partial = `${outputPathFor(library, 'longp', planned.id, 'mkv')}.partial`;
      await eventually(async () => (await processesMentioning(partial)).length > 0, {
        what: 'the encode to start',
        timeoutMs: 30_000,
      });
      await control('pause', CONTROL_FILE_ID, true);
      const paused = await eventually(
        async () =>
          (await eventsOf('encoder.paused', CONTROL_FILE_ID)).find((e) => e.data.node === 'node-p'),
        { what: 'encoder.paused' },
      );
      assert.equal(paused.data.reason, 'manual');
      assert.equal(paused.data.cancelRunning, true);
      await eventually(async () => (await processesMentioning(partial)).length === 0, {
        what: 'ffmpeg to be stopped by pause --now',
      });
      assert.equal((await eventsOf('encode.completed', 'longp')).length, 0);
      await control('resume');
      const completed = await eventually(
        async () => (await eventsOf('encode.completed', 'longp'))[0],
        {
          what: 'encode.completed after resume',
          timeoutMs: 120_000,
        },
      );
      assert.equal((await probeMedia(completed.data.outputPath)).video?.codec, 'hevc');
      const resumed = await eventsOf('encoder.resumed', CONTROL_FILE_ID);
      assert.ok(resumed.some((e) => e.data.node === 'node-p' && e.data.reason === 'manual'));
      sub.unsubscribe();
      const mine = progress.filter((p) => p.fileId === 'longp');
      assert.ok(mine.length > 0, 'progress was published');
      assert.ok(mine.every((p) => p.encoder === 'libx265' && p.node === 'node-p'));

      // Retry: a file already encoded is encoded again, into a fresh output.
      const retry = await control('retry', 'longp');
      const again = await eventually(
        async () =>
          (await eventsOf('encode.completed', 'longp')).find((e) => e.causationId === retry.id),
        { what: 'the retried encode', timeoutMs: 120_000 },
      );
      assert.equal(again.data.outputPath, outputPathFor(library, 'longp', retry.id, 'mkv'));
      assert.notEqual(again.data.outputPath, completed.data.outputPath);

      // The size guard stops an encode whose projected size passes the limit.
      await plan('toobig', 8, { source: { size: 1_000, mtimeMs: 1 } });
      const failed = await eventually(async () => (await eventsOf('encode.failed', 'toobig'))[0], {
        what: 'the size guard',
        timeoutMs: 60_000,
      });
      assert.equal(failed.data.permanent, true);
      assert.match(failed.data.reason, /exceeds the size guard of 1000 bytes/);
    } finally {
      await encoder.stop();
    }
  });

  it('two encoders share one queue and no plan is encoded twice', async () => {
    const availability = await detectEncodersOnce();
    const a = await startEncoder(context('encoder-a@host'), {
      node: 'a',
      availability,
      niceness: 0,
      minFreeBytes: 0,
    });
    const b = await startEncoder(context('encoder-b@host'), {
      node: 'b',
      availability,
      niceness: 0,
      minFreeBytes: 0,
    });
    try {
      const ids = ['share1', 'share2', 'share3', 'share4'];
      for (const id of ids) await plan(id, 2);
      const producers = new Set<string>();
      for (const id of ids) {
        await eventually(async () => (await eventsOf('encode.completed', id)).length > 0, {
          what: `encode.completed for ${id}`,
          timeoutMs: 120_000,
        });
        const started = await eventsOf('encode.started', id);
        assert.equal(started.length, 1, `${id} was encoded once`);
        assert.equal((await eventsOf('encode.completed', id)).length, 1);
        producers.add(started[0]!.producer);
      }
      assert.deepEqual([...producers].sort(), ['encoder-a@host', 'encoder-b@host']);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
