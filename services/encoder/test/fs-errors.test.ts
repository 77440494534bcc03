import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sampleData, subjectFor, type EventEnvelope } from '@conform/contracts';
import {
  EVENT_LOG_STREAM,
  EventPublisher,
  eventually,
  silentLogger,
  startTestBus,
  type MessageOutcome,
  type TestBus,
} from '@conform/bus';
import { generateClip } from '@conform/media';
import { classifyFailure, detectEncodersOnce, startEncoder } from '../src/index.js';

let t: TestBus;
let base: string;
let readOnly: string;
let unmount: (() => void) | null = null;

before(async () => {
  t = await startTestBus('encoder-fs-errors-test');
  base = await mkdtemp(join(tmpdir(), 'conform-encoder-fs-'));
  readOnly = join(base, 'ro-library');
  await mkdir(readOnly);
  await generateClip({ path: join(readOnly, 'ro.mkv'), durationSec: 2 });
  // As root permission bits do not stop writes: a read-only bind mount does (EROFS).
  execFileSync('mount', ['--bind', readOnly, readOnly]);
  execFileSync('mount', ['-o', 'remount,ro,bind', readOnly]);
  unmount = () => execFileSync('umount', ['-l', readOnly]);
});
after(async () => {
  unmount?.();
  await t.cleanup();
  await rm(base, { recursive: true, force: true });
});

describe('permanent filesystem errors end the encode once, with the reason', () => {
  it('a read-only library (EROFS) → encode.failed permanent, not retried', async () => {
    const outcomes: MessageOutcome[] = [];
    const encoder = await startEncoder(
      {
        bus: t.bus,
        publisher: new EventPublisher(t.bus.js, { producer: 'encoder@test' }),
        log: silentLogger(),
        eventLog: { maxBytes: 64 * 1024 ** 2 },
        onOutcome: (_service, outcome) => outcomes.push(outcome),
      },
      {
        niceness: 0, // not a priority test: at 19 a busy CI machine starves the encode
        node: 'node-ro',
        availability: await detectEncodersOnce(),
        retryDelayMs: 100,
      },
    );
    try {
      const publisher = new EventPublisher(t.bus.js, { producer: 'planner@test' });
      await publisher.emit(
        {
          type: 'file.planned',
          data: {
            ...sampleData['file.planned'],
            library: readOnly,
            path: join(readOnly, 'ro.mkv'),
            source: { size: 50_000_000, mtimeMs: 1 },
            target: { videoCodec: 'hevc', container: 'mkv' },
            estimatedOutputBytes: 10_000,
            durationSec: 2,
          },
        },
        { fileId: 'rofile' },
      );
      const failed = await eventually(
        async () => {
          const m = await t.bus.jsm.streams
            .getMessage(EVENT_LOG_STREAM, { last_by_subj: subjectFor('encode.failed', 'rofile') })
            .catch(() => null);
          return m?.json<EventEnvelope<'encode.failed'>>();
        },
        { what: 'encode.failed', timeoutMs: 30_000 },
      );
      assert.equal(failed.data.permanent, true);
      assert.match(failed.data.reason, /read-only; remount it read-write.*\(EROFS\)/);
      await eventually(
        () => outcomes.some((o) => o.kind === 'acked' && o.type === 'file.planned'),
        {
          what: 'the plan acked',
        },
      );
      assert.deepEqual(
        outcomes.filter((o) => o.kind === 'retried' || o.kind === 'dead-lettered'),
        [],
      );
    } finally {
      await encoder.stop();
    }
  });

  it('ffmpeg unable to write its output is permanent; a full disk is not', () => {
    const ok = { ok: true as const, media: {} as never };
    assert.deepEqual(
      classifyFailure(['/lib/.conform-work/x.mkv.partial: Read-only file system'], ok),
      {
        permanent: true,
        reason:
          'ffmpeg cannot write the output: /lib/.conform-work/x.mkv.partial: Read-only file system',
      },
    );
    assert.deepEqual(
      classifyFailure(['av_interleaved_write_frame(): No space left on device'], ok),
      {
        permanent: false,
      },
    );
  });
});
