import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateClip } from '@conform/media';
import { failures, runPipeline, testPolicy } from './pipeline.js';

// Files shaped like real libraries, through the real planner, encoder arguments, ffmpeg and
// verifier: each comes out right (every check passes) with the reasons in its plan.

let dir: string;
let library: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conform-real-media-'));
  library = join(dir, 'library');
  await mkdir(library);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('pixel format, chroma, bit depth and odd sizes', () => {
  it('a 321x241 4:4:4 H.264 source is encoded to 4:2:0 at 320x240 and passes verification', async () => {
    const path = join(library, 'yuv444.mp4');
    await generateClip({
      path,
      durationSec: 1,
      width: 321,
      height: 241,
      pixFmt: 'yuv444p',
      audioTracks: 0,
    });
    const r = await runPipeline(library, path, testPolicy(), join(dir, 'w444'));
    assert.equal(r.plan.decision, 'encode');
    assert.ok(
      r.plan.reasons.some((x) => /4:4:4 \(yuv444p\): output 4:2:0/.test(x)),
      r.plan.reasons.join('; '),
    );
    assert.ok(r.plan.reasons.some((x) => /321x241 has odd dimensions/.test(x)));
    assert.deepEqual(failures(r.checks), []);
    const video = r.streams.find((s) => s.codec_type === 'video')!;
    assert.equal(video.pix_fmt, 'yuv420p');
    assert.deepEqual([video.width, video.height], [320, 240]);
  });

  it('with keepChroma the same source stays 4:4:4 at 321x241 and passes verification', async () => {
    const path = join(library, 'yuv444-keep.mp4');
    await generateClip({
      path,
      durationSec: 1,
      width: 321,
      height: 241,
      pixFmt: 'yuv444p',
      audioTracks: 0,
    });
    const r = await runPipeline(
      library,
      path,
      testPolicy({ video: { keepChroma: true } }),
      join(dir, 'wkeep'),
    );
    assert.ok(r.plan.reasons.some((x) => /4:4:4 kept \(keepChroma\)/.test(x)));
    assert.deepEqual(failures(r.checks), []);
    const video = r.streams.find((s) => s.codec_type === 'video')!;
    assert.equal(video.pix_fmt, 'yuv444p');
    assert.deepEqual([video.width, video.height], [321, 241]);
  });

  it('tenBit turns an 8-bit source into 10-bit output that passes verification', async () => {
    const path = join(library, 'eight.mkv');
    await generateClip({ path, durationSec: 1, audioTracks: 1 });
    const r = await runPipeline(
      library,
      path,
      testPolicy({ video: { tenBit: true } }),
      join(dir, 'w10'),
    );
    assert.equal(r.plan.target?.pixFmt, 'yuv420p10le');
    assert.deepEqual(failures(r.checks), []);
    assert.equal(r.streams.find((s) => s.codec_type === 'video')?.pix_fmt, 'yuv420p10le');
  });
});
