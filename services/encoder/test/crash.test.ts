import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sampleData, subjectFor, type EventEnvelope, type EventType } from '@conform/contracts';
import {
  EVENT_LOG_STREAM,
  EventPublisher,
  eventually,
  provisionEventLog,
  startTestBus,
  type TestBus,
} from '@conform/bus';
import { generateClip, probeMedia, processesMentioning } from '@conform/media';
import { outputPathFor } from '../src/index.js';

const conformBin = resolve(import.meta.dirname, '../../../cli/dist/src/bin.js');

let t: TestBus;
let library: string;
before(async () => {
  t = await startTestBus('encoder-crash-test');
  library = await mkdtemp(join(tmpdir(), 'conform-encoder-crash-'));
  await provisionEventLog(t.bus.jsm);
});
after(async () => {
  await t.cleanup();
  await rm(library, { recursive: true, force: true });
});

/** `conform run encoder` in its own process group, so a kill takes its ffmpeg too, like a crash. */
function runEncoder(): ChildProcess {
  return spawn(process.execPath, [conformBin, 'run', 'encoder', '--nats', t.server.url], {
    detached: true,
    stdio: 'ignore',
    env: {
      ...process.env,
      LOG_LEVEL: 'warn',
      CONFORM_ENCODER_ACK_WAIT_MS: '2000',
      CONFORM_MIN_FREE_BYTES: '0',
      // The orphaned ffmpeg ends at its next progress write (SIGPIPE): at the default niceness
      // (19, its session's autogroup too) a machine busy with other tests may give it no CPU
      // for that within the wait below. What is tested here is the redelivery.
      CONFORM_ENCODE_NICE: '0',
    },
  });
}

async function count(type: EventType, fileId: string): Promise<number> {
  const info = await t.bus.jsm.streams.info(EVENT_LOG_STREAM, {
    subjects_filter: subjectFor(type, fileId),
  });
  return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
}

describe('an encoder killed mid-encode', () => {
  it('gets its plan redelivered to the next encoder, which finishes it exactly once', async () => {
    const path = join(library, 'crash.mkv');
    await generateClip({ path, durationSec: 12 });
    const publisher = new EventPublisher(t.bus.js, { producer: 'test@host' });
    const planned = await publisher.emit(
      {
        type: 'file.planned',
        data: {
          ...sampleData['file.planned'],
          library,
          path,
          source: { size: 50_000_000, mtimeMs: 1 },
          target: { videoCodec: 'hevc', container: 'mkv' },
          durationSec: 12,
        },
      },
      { fileId: 'crash' },
    );
    const output = outputPathFor(library, 'crash', planned.id, 'mkv');
    const first = runEncoder();
    let second: ChildProcess | null = null;
    try {
      await eventually(async () => (await processesMentioning(`${output}.partial`)).length > 0, {
        what: 'the first encoder to start ffmpeg',
        timeoutMs: 60_000,
      });
      process.kill(-first.pid!, 'SIGKILL');
      await eventually(async () => (await processesMentioning(`${output}.partial`)).length === 0, {
        what: 'the crashed encoder and its ffmpeg to be gone',
      });
      assert.equal(await count('encode.completed', 'crash'), 0);
      second = runEncoder();
      await eventually(async () => (await count('encode.completed', 'crash')) > 0, {
        what: 'the second encoder to finish the redelivered plan',
        timeoutMs: 120_000,
      });
      assert.equal(await count('encode.completed', 'crash'), 1);
      const msg = await t.bus.jsm.streams.getMessage(EVENT_LOG_STREAM, {
        last_by_subj: subjectFor('encode.started', 'crash'),
      });
      assert.ok(msg);
      assert.equal(msg.json<EventEnvelope<'encode.started'>>().data.attempt, 2);
      const media = await probeMedia(output);
      assert.equal(media.video?.codec, 'hevc');
      assert.ok((media.durationSec ?? 0) > 11);
    } finally {
      for (const child of [first, second]) {
        if (child?.pid && child.exitCode === null && child.signalCode === null) {
          try {
            process.kill(-child.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
    }
  });
});
