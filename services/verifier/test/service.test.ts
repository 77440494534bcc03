import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  sampleData,
  subjectFor,
  type EventEnvelope,
  type VerificationData,
} from '@conform/contracts';
import {
  EVENT_LOG_STREAM,
  EventPublisher,
  eventually,
  silentLogger,
  startTestBus,
  type RunningService,
  type TestBus,
} from '@conform/bus';
import { generateClip, runFfmpeg } from '@conform/media';
import { startVerifier } from '../src/index.js';

let t: TestBus;
let publisher: EventPublisher;
let verifier: RunningService;
let library: string;
let sourcePath: string;
let goodOutput: string;

before(async () => {
  t = await startTestBus('verifier-test');
  publisher = new EventPublisher(t.bus.js, { producer: 'test@host' });
  library = await mkdtemp(join(tmpdir(), 'conform-verifier-lib-'));
  sourcePath = join(library, 'source.mp4');
  goodOutput = join(library, 'good.mp4');
  const tracks = { durationSec: 2, audioTracks: 2, subtitles: true };
  await generateClip({ path: sourcePath, videoCodec: 'h264', ...tracks });
  await generateClip({ path: goodOutput, videoCodec: 'hevc', ...tracks });
  verifier = await startVerifier(
    { bus: t.bus, publisher, log: silentLogger(), eventLog: { maxBytes: 64 * 1024 * 1024 } },
    { slots: 2 },
  );
});
after(async () => {
  await verifier.stop();
  await t.cleanup();
  await rm(library, { recursive: true, force: true });
});

async function complete(fileId: string, outputPath: string): Promise<void> {
  await publisher.emit(
    {
      type: 'encode.completed',
      data: { ...sampleData['encode.completed'], library, path: sourcePath, outputPath },
    },
    { fileId },
  );
}

async function verdict(fileId: string): Promise<EventEnvelope<'verify.passed' | 'verify.failed'>> {
  return eventually(
    async () => {
      for (const type of ['verify.passed', 'verify.failed'] as const) {
        const msg = await t.bus.jsm.streams
          .getMessage(EVENT_LOG_STREAM, { last_by_subj: subjectFor(type, fileId) })
          .catch(() => null);
        if (msg) return msg.json<EventEnvelope<'verify.passed' | 'verify.failed'>>();
      }
      return null;
    },
    { what: `a verdict for ${fileId}` },
  );
}

const failedChecks = (data: VerificationData) => data.checks.filter((c) => !c.passed);

describe('verifier on the real bus', () => {
  it('passes a faithful hevc output', async () => {
    await complete('good', goodOutput);
    const event = await verdict('good');
    assert.equal(event.type, 'verify.passed', JSON.stringify(event.data.checks));
    assert.equal(event.data.checks.length, 6);
  });

  it('fails an output that dropped an audio track, with measured value and limit', async () => {
    const dropped = join(library, 'dropped.mp4');
    await runFfmpeg([
      '-nostdin',
      '-v',
      'error',
      '-i',
      goodOutput,
      '-map',
      '0:v',
      '-map',
      '0:a:0',
      '-map',
      '0:s',
      '-c',
      'copy',
      dropped,
    ]);
    await complete('dropped', dropped);
    const event = await verdict('dropped');
    assert.equal(event.type, 'verify.failed');
    assert.deepEqual(failedChecks(event.data), [
      { name: 'audio-streams', passed: false, measured: 1, limit: 2 },
    ]);
  });

  it('fails a truncated output on the duration check', async () => {
    const cut = join(library, 'cut.mp4');
    await runFfmpeg([
      '-nostdin',
      '-v',
      'error',
      '-i',
      goodOutput,
      '-map',
      '0',
      '-t',
      '1',
      '-c',
      'copy',
      cut,
    ]);
    await complete('cut', cut);
    const event = await verdict('cut');
    assert.equal(event.type, 'verify.failed');
    const failed = failedChecks(event.data);
    assert.deepEqual(
      failed.map((c) => c.name),
      ['duration'],
    );
    assert.ok(typeof failed[0]?.measured === 'number' && failed[0].measured < 1.5);
    assert.match(String(failed[0]?.limit), /^2(\.\d+)?±0\.5$/);
  });

  it('fails a missing output on the output-probes check with the reason', async () => {
    await complete('missing', join(library, 'never-written.mp4'));
    const event = await verdict('missing');
    assert.equal(event.type, 'verify.failed');
    assert.equal(event.data.checks[0]?.name, 'output-probes');
    assert.match(String(event.data.checks[0]?.measured), /No such file/);
  });
});
