import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  sampleData,
  sampleEvent,
  wrap,
  type EventEnvelope,
  type EventType,
} from '@conform/contracts';
import {
  EventPublisher,
  WORK_STREAM,
  eventually,
  lastEventOf,
  openNodeRegistry,
  publishWork,
  silentLogger,
  startTestBus,
  workSubjectFor,
  type RunningService,
  type ServiceContext,
  type TestBus,
} from '@conform/bus';
import { generateClip } from '@conform/media';
import {
  fallbackDue,
  needsHistoryCheck,
  poolsServed,
  routeFor,
  sizeClassOf,
  startEncoder,
  type EncoderAvailability,
} from '../src/index.js';

describe('routing decisions', () => {
  it('serves gpu and cpu pools with a GPU, the cpu pool (and gpu as fallback) without', () => {
    const gpu = new Map([
      ['hevc', { backend: 'nvenc' }],
      ['av1', { backend: 'cpu' }],
    ] as const);
    assert.deepEqual(poolsServed(gpu, { cpuFallback: false }), {
      native: ['gpu-hevc', 'cpu-hevc', 'cpu-av1'],
      fallback: [],
    });
    const cpu = new Map([['hevc', { backend: 'cpu' }]] as const);
    assert.deepEqual(poolsServed(cpu, { cpuFallback: false }), {
      native: ['cpu-hevc'],
      fallback: [],
    });
    assert.deepEqual(poolsServed(cpu, { cpuFallback: true }), {
      native: ['cpu-hevc'],
      fallback: ['gpu-hevc'],
    });
  });

  it('queues an encode plan in the pool of its codec, and nothing else', () => {
    const planned = sampleEvent('file.planned') as EventEnvelope<'file.planned'>;
    assert.equal(routeFor(planned, 'gpu'), 'gpu-hevc');
    assert.equal(routeFor(planned, 'cpu'), 'cpu-hevc');
    const compliant = {
      ...planned,
      data: { ...planned.data, decision: 'compliant' as const, target: null },
    };
    assert.equal(routeFor(compliant, 'gpu'), null);
    // A remux copies the video: queued where any node of the codec takes it, never GPU-only.
    const remux = { ...planned, data: { ...planned.data, decision: 'remux' as const } };
    assert.equal(routeFor(remux, 'gpu'), 'cpu-hevc');
    // Live plans are queued without a history check; replayed ones and redeliveries are checked.
    const created = Date.parse('2026-12-01T10:00:00Z');
    const at = (time: string) => ({ time });
    assert.equal(needsHistoryCheck(at('2026-12-01T10:30:00Z'), 1, created), false);
    assert.equal(needsHistoryCheck(at('2026-12-01T10:30:00Z'), 2, created), true);
    assert.equal(needsHistoryCheck(at('2026-12-01T10:05:00Z'), 1, created), true, 'in the margin');
    assert.equal(needsHistoryCheck(at('2026-11-01T10:00:00Z'), 1, created), true, 'history');
    assert.equal(needsHistoryCheck(at('not a time'), 1, created), true);
    // By the time the stream stored it (the server's clock): only the servers' margin.
    const stored = (time: string, storedAt: string) => ({ time, storedAtMs: Date.parse(storedAt) });
    const fresh = stored('2026-12-01T10:00:20Z', '2026-12-01T10:00:20Z');
    assert.equal(needsHistoryCheck(fresh, 1, created), false, 'stored after the consumer');
    assert.equal(needsHistoryCheck(fresh, 2, created), true, 'a redelivery');
    const skewed = stored('2026-12-01T09:00:00Z', '2026-12-01T10:00:20Z');
    assert.equal(needsHistoryCheck(skewed, 1, created), false, "the producer's clock is behind");
    const early = stored('2026-12-01T10:00:05Z', '2026-12-01T10:00:05Z');
    assert.equal(needsHistoryCheck(early, 1, created), true, 'within the servers margin');
    const old = stored('2026-12-01T11:00:00Z', '2026-11-01T10:00:00Z');
    assert.equal(needsHistoryCheck(old, 1, created), true, 'stored before the consumer');
    // By sequence: stored after the log's last sequence when the router started, it is live
    // even within the servers' margin; at or before it, the clocks judge; redeliveries check.
    const seq = (n: number) => ({ ...early, seq: n });
    assert.equal(needsHistoryCheck(seq(101), 1, created, 100), false, 'after the router started');
    assert.equal(needsHistoryCheck(seq(100), 1, created, 100), true, 'before: by the clocks');
    assert.equal(needsHistoryCheck(seq(101), 2, created, 100), true, 'a redelivery');
    assert.equal(needsHistoryCheck(seq(101), 1, created), true, 'start sequence unknown');
    assert.equal(fallbackDue(999, 1_000), false);
    assert.equal(fallbackDue(1_000, 1_000), true);
  });
});

/** A CPU-only node whose ffmpeg has the given encoders; the others are not in its build. */
const available = (...have: ('libx265' | 'libx264' | 'libsvtav1')[]): EncoderAvailability[] =>
  (
    [
      ['libx265', 'hevc'],
      ['libx264', 'h264'],
      ['libsvtav1', 'av1'],
    ] as const
  ).map(([encoder, codec]) =>
    have.includes(encoder)
      ? {
          encoder,
          codec,
          backend: 'cpu',
          compiled: true,
          works: true,
          reason: 'trial encode succeeded',
        }
      : {
          encoder,
          codec,
          backend: 'cpu',
          compiled: false,
          works: false,
          reason: 'not in this ffmpeg build',
        },
  );

describe('routing on a real bus: two encoders of different abilities', () => {
  let t: TestBus;
  let library: string;
  const nodes: RunningService[] = [];
  const ctx = (producer: string): ServiceContext => ({
    bus: t.bus,
    publisher: new EventPublisher(t.bus.js, { producer }),
    log: silentLogger(),
    eventLog: { maxBytes: 64 * 1024 * 1024 },
  });
  const last = async <T extends EventType>(type: T, fileId: string) =>
    (await lastEventOf(t.bus, type, fileId))?.event ?? null;
  const plan = (fileId: string, codec: 'hevc' | 'av1') =>
    wrap(
      {
        type: 'file.planned',
        data: {
          ...sampleData['file.planned'],
          library,
          path: join(library, `${fileId}.mkv`),
          target: { videoCodec: codec, container: 'mkv' },
          durationSec: 1,
        },
      },
      { fileId, producer: 'planner@test', time: new Date() },
    );

  before(async () => {
    t = await startTestBus('routing');
    library = await mkdtemp(join(tmpdir(), 'conform-routing-'));
    await Promise.all(
      ['av', 'gpujob', 'cpujob', 'late'].map((n) =>
        generateClip({ path: join(library, `${n}.mkv`), durationSec: 1 }),
      ),
    );
    // An ffmpeg without libsvtav1 and one with it; both CPU-only with no fallback: GPU work is not theirs.
    nodes.push(
      await startEncoder(ctx('encoder@hevc-only'), {
        niceness: 0, // not a priority test: at 19 a busy CI machine starves the encode
        encoder: 'auto',
        slots: 1,
        availability: available('libx265'),
        node: 'hevc-only',
      }),
    );
    nodes.push(
      await startEncoder(ctx('encoder@hevc-av1'), {
        niceness: 0, // not a priority test: at 19 a busy CI machine starves the encode
        encoder: 'auto',
        slots: 1,
        availability: available('libx265', 'libsvtav1'),
        node: 'hevc-av1',
      }),
    );
  });
  after(async () => {
    for (const n of nodes) await n.stop();
    await t.cleanup();
    await rm(library, { recursive: true, force: true });
  });

  it('an av1 plan goes to the node that encodes av1', async () => {
    await new EventPublisher(t.bus.js, { producer: 'planner@test' }).publish(plan('av', 'av1'));
    const done = await eventually(() => last('encode.completed', 'av'), {
      what: 'the av1 encode',
      timeoutMs: 90_000,
    });
    assert.equal(done.producer, 'encoder@hevc-av1');
    assert.equal(done.data.encoder, 'libsvtav1');
    // And each node says which pools it serves, in its heartbeat.
    const entries = await (await openNodeRegistry(t.bus, { create: false })).list();
    const poolsOf = (node: string) =>
      entries.flatMap((e) => (e.ok && e.heartbeat.node === node ? (e.heartbeat.pools ?? []) : []));
    assert.deepEqual(poolsOf('hevc-av1').sort(), ['cpu-av1', 'cpu-hevc']);
    assert.deepEqual(poolsOf('hevc-only'), ['cpu-hevc']);
  });

  it('CPU-only nodes leave GPU work alone; one that allows fallback takes it after the wait', async () => {
    const gpuJob = plan('gpujob', 'hevc');
    await publishWork(t.bus.js, 'gpu-hevc', sizeClassOf(gpuJob), gpuJob);
    const cpuJob = plan('cpujob', 'hevc');
    await publishWork(t.bus.js, 'cpu-hevc', sizeClassOf(cpuJob), cpuJob);
    // The later CPU job is done: both nodes were free, and neither touched the GPU job.
    await eventually(() => last('encode.completed', 'cpujob'), {
      what: 'the cpu job',
      timeoutMs: 60_000,
    });
    assert.equal(await last('encode.started', 'gpujob'), null);
    const waiting = await t.bus.jsm.streams.getMessage(WORK_STREAM, {
      last_by_subj: workSubjectFor('gpu-hevc', sizeClassOf(gpuJob), 'gpujob'),
    });
    assert.ok(waiting, 'the GPU job is still queued');

    const waitMs = 2_000;
    nodes.push(
      await startEncoder(ctx('encoder@fallback'), {
        niceness: 0, // not a priority test: at 19 a busy CI machine starves the encode
        encoder: 'auto',
        slots: 1,
        availability: available('libx265'),
        node: 'fallback',
        cpuFallbackAfterMs: waitMs,
      }),
    );
    // Queued long before: taken at once. Queued now: only after the wait.
    const first = await eventually(() => last('encode.completed', 'gpujob'), {
      what: 'the waiting GPU job',
      timeoutMs: 60_000,
    });
    assert.equal(first.producer, 'encoder@fallback');
    const late = plan('late', 'hevc');
    const queued = Date.now();
    await publishWork(t.bus.js, 'gpu-hevc', sizeClassOf(late), late);
    const started = await eventually(() => last('encode.started', 'late'), {
      what: 'the late GPU job',
      timeoutMs: 60_000,
    });
    assert.equal(started.producer, 'encoder@fallback');
    const waited = new Date(started.time).getTime() - queued;
    assert.ok(waited >= waitMs, `taken after ${waited} ms, not before the ${waitMs} ms wait`);
  });
});
