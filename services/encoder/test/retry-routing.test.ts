import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sampleData, subjectFor, type EventEnvelope, type EventType } from '@conform/contracts';
import {
  EventPublisher,
  WORK_STREAM,
  eventually,
  readEvents,
  silentLogger,
  startTestBus,
  type RunningService,
  type ServiceContext,
  type TestBus,
} from '@conform/bus';
import { generateClip } from '@conform/media';
import { startEncoder, type EncoderAvailability } from '../src/index.js';

/** libx265 works; hevc_nvenc "works" only where the test says so (the detected-devices seam). */
const devices = (gpu: boolean): EncoderAvailability[] => [
  {
    encoder: 'libx265',
    codec: 'hevc',
    backend: 'cpu',
    compiled: true,
    works: true,
    reason: 'trial encode succeeded',
  },
  {
    encoder: 'hevc_nvenc',
    codec: 'hevc',
    backend: 'nvenc',
    compiled: true,
    works: gpu,
    reason: gpu ? 'trial encode succeeded' : 'trial encode failed: no device',
  },
];

describe('a retry goes through the pools, like the plan it retries', () => {
  let t: TestBus;
  let library: string;
  let cpuNode: RunningService;
  const ctx = (producer: string): ServiceContext => ({
    bus: t.bus,
    publisher: new EventPublisher(t.bus.js, { producer }),
    log: silentLogger(),
    eventLog: { maxBytes: 64 * 1024 * 1024 },
  });
  // Both nodes keep hevc plans for GPU nodes: the CPU node takes none (no fallback).
  const gpuNode = () =>
    startEncoder(ctx('encoder@gpu'), {
      niceness: 0, // not a priority test: at 19 a busy CI machine starves the encode
      node: 'gpu',
      slots: 1,
      availability: devices(true),
      nvencSessionProbe: false,
      routePreference: 'gpu',
      maxDeliver: 1,
      retryDelayMs: 100,
    });
  const eventsOf = async <T extends EventType>(type: T, fileId: string) =>
    (await readEvents(t.bus, subjectFor(type, fileId))).map((e) => e.event as EventEnvelope<T>);

  before(async () => {
    t = await startTestBus('retry-routing');
    library = await mkdtemp(join(tmpdir(), 'conform-retry-routing-'));
    await generateClip({ path: join(library, 'film.mkv'), durationSec: 1 });
    cpuNode = await startEncoder(ctx('encoder@cpu'), {
      niceness: 0, // not a priority test: at 19 a busy CI machine starves the encode
      node: 'cpu',
      slots: 1,
      availability: devices(false),
      routePreference: 'gpu',
    });
  });
  after(async () => {
    await cpuNode.stop();
    await t.cleanup();
    await rm(library, { recursive: true, force: true });
  });

  it('a retried GPU plan waits in the gpu pool for a GPU node, never on the idle CPU node', async () => {
    const publisher = new EventPublisher(t.bus.js, { producer: 'planner@test' });
    const planned = await publisher.emit(
      {
        type: 'file.planned',
        data: {
          ...sampleData['file.planned'],
          library,
          path: join(library, 'film.mkv'),
          target: { videoCodec: 'hevc', container: 'mkv' },
          durationSec: 1,
        },
      },
      { fileId: 'film' },
    );
    // The GPU node takes the plan; without a real GPU its encode fails and the plan ends.
    let gpu = await gpuNode();
    try {
      await eventually(
        async () =>
          (await eventsOf('encode.failed', 'film')).length +
            (await eventsOf('message.deadlettered', 'film')).length >
            0 || null,
        { what: 'the first attempt to end', timeoutMs: 60_000 },
      );
    } finally {
      await gpu.stop();
    }
    const first = await eventsOf('encode.started', 'film');
    assert.equal(first.length, 1);
    assert.equal(first[0]!.producer, 'encoder@gpu');
    assert.equal(first[0]!.causationId, planned.id);

    // Retried while only the CPU node runs: the router queues it in the gpu pool.
    const retry = await publisher.emit(
      {
        type: 'control.requested',
        data: { action: 'retry', path: join(library, 'film.mkv'), now: false, requestedBy: 'test' },
      },
      { fileId: 'film', discriminator: 'retry-1' },
    );
    const queued = await eventually(
      () =>
        t.bus.jsm.streams
          .getMessage(WORK_STREAM, { last_by_subj: 'conform.work.gpu-hevc.1g.film' })
          .catch(() => null),
      { what: 'the retry queued in the gpu pool', timeoutMs: 30_000 },
    );
    assert.equal(queued.json<EventEnvelope>().id, retry.id);

    // A GPU node comes back and takes the retry.
    gpu = await gpuNode();
    try {
      const again = await eventually(
        async () =>
          (await eventsOf('encode.started', 'film')).find((e) => e.causationId === retry.id) ??
          null,
        { what: 'the retried encode to start', timeoutMs: 60_000 },
      );
      assert.equal(again.producer, 'encoder@gpu');
      assert.equal(again.data.encoder, 'hevc_nvenc');
    } finally {
      await gpu.stop();
    }
    const started = await eventsOf('encode.started', 'film');
    assert.deepEqual(
      started.map((e) => e.producer),
      ['encoder@gpu', 'encoder@gpu'],
      'every attempt ran on the GPU node',
    );
  });
});
