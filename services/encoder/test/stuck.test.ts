// Every pause reason leaves a file with an owner that moves it on: the encoder holds or returns
// the plan with an event saying why, and encodes it once the reason is gone. Real bus, real
// ffmpeg, a real small filesystem for low disk.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CONTROL_FILE_ID,
  sampleData,
  subjectFor,
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
import { generateClip, processesMentioning } from '@conform/media';
import { detectEncodersOnce, outputPathFor, startEncoder } from '../src/index.js';
import type { EncoderAvailability } from '../src/detect.js';

let t: TestBus;
let base: string;
let library: string;
let small: string;
let publisher: EventPublisher;
let availability: readonly EncoderAvailability[];
let unmount: (() => void) | null = null;
const context = (producer: string): ServiceContext => ({
  bus: t.bus,
  publisher: new EventPublisher(t.bus.js, { producer }),
  log: silentLogger(),
  eventLog: { maxBytes: 64 * 1024 * 1024 },
});

before(async () => {
  t = await startTestBus('encoder-stuck-test');
  publisher = new EventPublisher(t.bus.js, { producer: 'test@host' });
  base = await mkdtemp(join(tmpdir(), 'conform-encoder-stuck-'));
  library = join(base, 'library');
  small = join(base, 'small');
  await mkdir(library);
  await mkdir(small);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', small]);
  unmount = () => execFileSync('umount', ['-l', small]);
  availability = await detectEncodersOnce();
});
after(async () => {
  unmount?.();
  await t.cleanup();
  await rm(base, { recursive: true, force: true });
});

async function plan(
  lib: string,
  fileId: string,
  durationSec: number,
  extra: object = {},
  prepare: () => Promise<void> = async () => undefined,
) {
  const path = join(lib, `${fileId}.mkv`);
  await generateClip({ path, durationSec });
  await prepare();
  return publisher.emit(
    {
      type: 'file.planned',
      data: {
        ...sampleData['file.planned'],
        library: lib,
        path,
        source: { size: 50_000_000, mtimeMs: 1 },
        target: { videoCodec: 'hevc', container: 'mkv' },
        estimatedOutputBytes: 100_000,
        durationSec,
        ...extra,
      },
    },
    { fileId },
  );
}

async function eventsOf<T extends EventType>(type: T, fileId: string): Promise<EventEnvelope<T>[]> {
  const found: EventEnvelope<T>[] = [];
  const filter = subjectFor(type, fileId);
  const info = await t.bus.jsm.streams.info(EVENT_LOG_STREAM, { subjects_filter: filter });
  if (Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0) === 0) return found;
  const consumer = await t.bus.js.consumers.get(EVENT_LOG_STREAM, { filter_subjects: filter });
  const messages = await consumer.consume();
  for await (const m of messages) {
    found.push(m.json<EventEnvelope<T>>());
    if (m.info.pending === 0) break;
  }
  await messages.close();
  return found;
}

const pauseOf = (type: 'encoder.paused' | 'encoder.resumed', node: string, reason: string) =>
  eventually(
    async () =>
      (await eventsOf(type, CONTROL_FILE_ID)).find(
        (e) => e.data.node === node && e.data.reason === reason,
      ),
    { what: `${type} ${reason} on ${node}`, timeoutMs: 20_000 },
  );

const completed = (fileId: string) =>
  eventually(async () => (await eventsOf('encode.completed', fileId))[0], {
    what: `encode.completed for ${fileId}`,
    timeoutMs: 120_000,
  });

describe('no stuck states: each pause reason has an owner that moves the file on', () => {
  it('schedule: a plan queued inside a quiet window is encoded once the window ends', async () => {
    let inside = true;
    const at = (h: number, m: number) => {
      const d = new Date();
      d.setHours(h, m, 0, 0);
      return d;
    };
    const encoder = await startEncoder(context('encoder-s@host'), {
      niceness: 0, // not a priority test: at 19 a busy CI machine starves the encode
      node: 'node-s',
      availability,
      checkIntervalMs: 200,
      quietWindows: [{ from: '01:00', to: '05:00' }],
      now: () => (inside ? at(3, 0) : at(6, 0)),
    });
    try {
      const paused = await pauseOf('encoder.paused', 'node-s', 'schedule');
      assert.match(paused.data.detail, /quiet window 01:00-05:00/);
      await plan(library, 'sched', 2);
      inside = false; // the window ends: nobody but the encoder's own clock check resumes it
      const resumed = await pauseOf('encoder.resumed', 'node-s', 'schedule');
      const done = await completed('sched');
      assert.ok(Date.parse(done.time) >= Date.parse(resumed.time), 'encoded after the window');
    } finally {
      await encoder.stop();
    }
  });

  it('low disk: the file is requeued with the reason in real units, and encoded when space returns', async () => {
    const encoder = await startEncoder(context('encoder-d@host'), {
      niceness: 0, // not a priority test: at 19 a busy CI machine starves the encode
      node: 'node-d',
      availability,
      checkIntervalMs: 200,
    });
    const filler = join(small, 'filler.bin');
    try {
      // ~1 MiB left on the 8 MiB filesystem, and the plan needs 3 MiB + 10 %.
      await plan(small, 'lowdisk', 2, { estimatedOutputBytes: 3 * 1024 ** 2 }, () =>
        writeFile(filler, Buffer.alloc(6.5 * 1024 ** 2, 1)),
      );
      const requeued = await eventually(
        async () => (await eventsOf('encode.requeued', 'lowdisk'))[0],
        {
          what: 'encode.requeued for low disk',
          timeoutMs: 20_000,
        },
      );
      assert.equal(requeued.data.reason, 'low-disk');
      assert.equal(requeued.data.abandoned, false);
      assert.match(
        requeued.data.detail,
        new RegExp(
          `free space \\d+\\.\\d (KiB|MiB) on ${small} is below the 3\\.3 MiB needed \\(estimated output 3\\.0 MiB \\+ 10 %\\)`,
        ),
      );
      const paused = await pauseOf('encoder.paused', 'node-d', 'low-disk');
      assert.match(paused.data.detail, /3\.3 MiB needed/);
      assert.equal(
        (await eventsOf('encode.started', 'lowdisk')).length,
        0,
        'it waited before starting',
      );
      await rm(filler); // space returns; no operator action
      await pauseOf('encoder.resumed', 'node-d', 'low-disk');
      const done = await completed('lowdisk');
      assert.ok(done.data.outputSize > 0);
    } finally {
      await encoder.stop();
      await rm(filler, { force: true });
    }
  });

  it('manual --now: the stopped encode is requeued with an event, and finishes after resume', async () => {
    const encoder = await startEncoder(context('encoder-m@host'), {
      niceness: 0, // not a priority test: at 19 a busy CI machine starves the encode
      node: 'node-m',
      availability,
      checkIntervalMs: 200,
      retryDelayMs: 200,
    });
    const control = (action: 'pause' | 'resume', now: boolean) =>
      publisher.emit(
        {
          type: 'control.requested',
          data: { action, path: null, now, requestedBy: 'test' },
        },
        { fileId: CONTROL_FILE_ID, discriminator: `${action}-${Date.now()}` },
      );
    try {
      const planned = await plan(library, 'manual', 20);
      const partial = `${outputPathFor(library, 'manual', planned.id, 'mkv')}.partial`;
      await eventually(async () => (await processesMentioning(partial)).length > 0, {
        what: 'the encode to start',
        timeoutMs: 30_000,
      });
      await control('pause', true);
      const requeued = await eventually(
        async () => (await eventsOf('encode.requeued', 'manual'))[0],
        {
          what: 'encode.requeued after pause --now',
          timeoutMs: 20_000,
        },
      );
      assert.equal(requeued.data.reason, 'manual');
      assert.equal(requeued.data.abandoned, true);
      await control('resume', false);
      await completed('manual');
      const started = await eventsOf('encode.started', 'manual');
      assert.equal(started.length, 2, 'started, stopped by --now, started again');
    } finally {
      await encoder.stop();
    }
  });
});
