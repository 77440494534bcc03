import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sampleData, subjectFor, type EventEnvelope } from '@conform/contracts';
import {
  EVENT_LOG_STREAM,
  EventPublisher,
  eventually,
  silentLogger,
  startTestBus,
  type RunningService,
  type TestBus,
} from '@conform/bus';
import { generateClip } from '@conform/media';
import { startEncoder } from '../src/index.js';

// ffmpeg 5.1 reports fps=0 until a second has passed, and a tiny clip encodes faster than that.
// An `ffmpeg` first on PATH that reads its input at native rate (-re) makes a 2 s clip take
// about 2 s, so ffmpeg reports a real average; this file runs in its own process, so the PATH
// change stays here.

const CLIP_FRAMES = 2 * 25; // generateClip: 2 s of testsrc2 at 25 fps

let t: TestBus;
let dir: string;
let encoder: RunningService;
const originalPath = process.env.PATH;

before(async () => {
  t = await startTestBus('encoder-fps-test');
  dir = await mkdtemp(join(tmpdir(), 'conform-encoder-fps-'));
  await mkdir(join(dir, 'lib'));
  await generateClip({ path: join(dir, 'lib', 'clip.mkv'), durationSec: 2, audioTracks: 1 });
  const ffmpeg = execFileSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).trim();
  await writeFile(join(dir, 'ffmpeg'), `#!/bin/sh\nexec '${ffmpeg}' -re "$@"\n`);
  await chmod(join(dir, 'ffmpeg'), 0o755);
  process.env.PATH = `${dir}${delimiter}${originalPath ?? ''}`;
  encoder = await startEncoder(
    {
      bus: t.bus,
      publisher: new EventPublisher(t.bus.js, { producer: 'encoder@test' }),
      log: silentLogger(),
      eventLog: { maxBytes: 64 * 1024 * 1024 },
    },
    { slots: 1, encoder: 'libx265', niceness: 0 },
  );
});
after(async () => {
  await encoder?.stop();
  process.env.PATH = originalPath;
  await t?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe('encode.completed fps', { timeout: 60_000 }, () => {
  it("carries the encode's average fps from ffmpeg's last progress report", async () => {
    const library = join(dir, 'lib');
    await new EventPublisher(t.bus.js, { producer: 'planner@test' }).emit(
      {
        type: 'file.planned',
        data: {
          ...sampleData['file.planned'],
          library,
          path: join(library, 'clip.mkv'),
          target: { videoCodec: 'hevc', container: 'mkv' },
          durationSec: 2,
        },
      },
      { fileId: 'fps1' },
    );
    const completed = await eventually(
      async () => {
        const msg = await t.bus.jsm.streams
          .getMessage(EVENT_LOG_STREAM, { last_by_subj: subjectFor('encode.completed', 'fps1') })
          .catch(() => null);
        return msg?.json<EventEnvelope<'encode.completed'>>();
      },
      { what: 'encode.completed', timeoutMs: 50_000 },
    );
    const { fps } = completed.data;
    assert.equal(typeof fps, 'number', JSON.stringify(completed.data));
    // ffmpeg divides the frames so far by the seconds so far, and only once that exceeds one
    // second: a real average is above zero and below the clip's frame count.
    assert.ok(fps! > 0 && fps! < CLIP_FRAMES, `fps ${fps}`);
  });
});
