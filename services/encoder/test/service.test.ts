import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CURRENT_VERSION,
  eventIdFor,
  sampleData,
  type EncodeTarget,
  type EventEnvelope,
  type EventType,
  WORK_DIR_NAME,
} from '@conform/contracts';
import {
  EventPublisher,
  lastEventOf,
  eventually,
  silentLogger,
  startTestBus,
  type MessageOutcome,
  type RunningService,
  type ServiceContext,
  type TestBus,
} from '@conform/bus';
import { generateClip, probeMedia, processesMentioning } from '@conform/media';
import { outputPathFor, startEncoder } from '../src/index.js';

let t: TestBus;
let publisher: EventPublisher;
let library: string;
const outcomes: MessageOutcome[] = [];
let ctx: ServiceContext;

before(async () => {
  t = await startTestBus('encoder-test');
  publisher = new EventPublisher(t.bus.js, { producer: 'test@host' });
  library = await mkdtemp(join(tmpdir(), 'conform-encoder-lib-'));
  ctx = {
    bus: t.bus,
    publisher,
    log: silentLogger(),
    eventLog: { maxBytes: 64 * 1024 * 1024 },
    onOutcome: (_s, o) => outcomes.push(o),
  };
});
after(async () => {
  await t.cleanup();
  await rm(library, { recursive: true, force: true });
});

async function plan(
  fileId: string,
  relativePath: string,
  container: EncodeTarget['container'],
  durationSec: number,
): Promise<EventEnvelope<'file.planned'>> {
  return publisher.emit(
    {
      type: 'file.planned',
      data: {
        ...sampleData['file.planned'],
        library,
        path: join(library, relativePath),
        target: { videoCodec: 'hevc', container },
        durationSec,
      },
    },
    { fileId },
  );
}

async function lastEvent<T extends EventType>(
  type: T,
  fileId: string,
): Promise<EventEnvelope<T> | null> {
  return (await lastEventOf(t.bus, type, fileId))?.event ?? null;
}

describe('encoder on the real bus', () => {
  let encoder: RunningService;
  before(async () => {
    // Pinned, not 'auto': on a machine with a working GPU 'auto' picks NVENC, and these tests
    // are about the encoder service, not about detection (covered by the detection tests).
    encoder = await startEncoder(ctx, { slots: 1, encoder: 'libx265', niceness: 0 });
  });
  after(async () => encoder.stop());

  it('encodes h264 with two audio tracks and subtitles to hevc, keeping every track', async () => {
    await generateClip({
      path: join(library, 'good.mp4'),
      durationSec: 1,
      audioTracks: 2,
      subtitles: true,
    });
    const planned = await plan('good', 'good.mp4', 'mp4', 1);
    const completed = await eventually(() => lastEvent('encode.completed', 'good'), {
      what: 'encode.completed',
      timeoutMs: 60_000,
    });
    const started = await lastEvent('encode.started', 'good');
    assert.equal(started?.data.attempt, 1);
    assert.equal(started?.causationId, planned.id);
    assert.equal(completed.data.outputPath, outputPathFor(library, 'good', planned.id, 'mp4'));
    assert.equal(completed.data.encoder, 'libx265');
    assert.ok(completed.data.outputSize > 0);
    const output = await probeMedia(completed.data.outputPath);
    assert.equal(output.video?.codec, 'hevc');
    assert.equal(output.audioStreams, 2);
    assert.equal(output.subtitleStreams, 1);
    assert.deepEqual(
      (await readdir(join(library, WORK_DIR_NAME))).filter((f) => f.endsWith('.partial')),
      [],
    );
  });

  it('reports an output that already exists without encoding again', async () => {
    // The planned event's id is deterministic, so the output can be in place before it is published.
    const plannedId = eventIdFor('redelivered', 'file.planned', CURRENT_VERSION, null);
    const outputPath = outputPathFor(library, 'redelivered', plannedId, 'mkv');
    await mkdir(join(library, WORK_DIR_NAME), { recursive: true });
    await writeFile(outputPath, Buffer.alloc(1234));
    const planned = await plan('redelivered', 'not-even-there.mkv', 'mkv', 1);
    assert.equal(planned.id, plannedId);
    const completed = await eventually(() => lastEvent('encode.completed', 'redelivered'), {
      what: 'encode.completed',
    });
    assert.equal(completed.data.outputSize, 1234);
    assert.equal('fps' in completed.data, false, 'no encode ran, so no rate is claimed');
    assert.equal(await lastEvent('encode.started', 'redelivered'), null);
  });

  it('fails a corrupt input permanently, with the reason, and leaves no partial', async () => {
    await writeFile(join(library, 'corrupt.mp4'), randomBytes(64 * 1024));
    await plan('corrupt', 'corrupt.mp4', 'mp4', 1);
    const failed = await eventually(() => lastEvent('encode.failed', 'corrupt'), {
      what: 'encode.failed',
      timeoutMs: 30_000,
    });
    assert.equal(failed.data.permanent, true);
    assert.match(failed.data.reason, /unreadable|cannot decode/);
    assert.equal(await lastEvent('encode.completed', 'corrupt'), null);
    assert.deepEqual(
      (await readdir(join(library, WORK_DIR_NAME))).filter((f) => f.startsWith('corrupt')),
      [],
    );
  });

  it('ignores a plan that is not an encode', async () => {
    const published = await publisher.emit(
      {
        type: 'file.planned',
        data: {
          ...sampleData['file.planned'],
          library,
          path: join(library, 'x.mkv'),
          decision: 'compliant',
          target: null,
        },
      },
      { fileId: 'compliant' },
    );
    // Wait for the ack of this very plan: only then has the encoder handled it.
    await eventually(() => outcomes.some((o) => o.kind === 'acked' && o.eventId === published.id), {
      what: 'the ack of the compliant plan',
    });
    assert.equal(await lastEvent('encode.started', 'compliant'), null);
    assert.equal(await lastEvent('encode.completed', 'compliant'), null);
  });
});

describe('stopping the encoder mid-encode', () => {
  it('kills ffmpeg and removes the partial output', async () => {
    const encoder = await startEncoder(ctx, { slots: 1, encoder: 'libx265', niceness: 0 });
    await generateClip({ path: join(library, 'long.mkv'), durationSec: 30 });
    const planned = await plan('long', 'long.mkv', 'mkv', 30);
    const partial = `${outputPathFor(library, 'long', planned.id, 'mkv')}.partial`;
    await eventually(async () => (await processesMentioning(partial)).length > 0, {
      what: 'ffmpeg to start writing the partial output',
      timeoutMs: 30_000,
    });
    await encoder.stop();
    assert.deepEqual(await processesMentioning(partial), []);
    assert.deepEqual(
      (await readdir(join(library, WORK_DIR_NAME))).filter((f) => f.startsWith('long')),
      [],
    );
    assert.ok(outcomes.some((o) => o.kind === 'returned' && o.type === 'file.planned'));
  });
});
