import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateClip } from '@conform/media';
import { chooseDecode, ENCODE_PROFILES } from '../src/index.js';

// This machine has no GPU: the real ffmpeg's trial decode on cuda, qsv and vaapi fails, and
// each file falls back to software decode with ffmpeg's reason.

let dir: string;
let clip: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conform-hwdecode-'));
  clip = join(dir, 'clip.mkv');
  await generateClip({ path: clip, durationSec: 1, audioTracks: 0 });
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('chooseDecode (real ffmpeg, no GPU)', () => {
  const target = {
    videoCodec: 'hevc' as const,
    container: 'mkv' as const,
    frameSize: { width: 320, height: 240 },
  };
  for (const encoder of ['hevc_nvenc', 'hevc_qsv', 'hevc_vaapi'] as const) {
    it(`${encoder}: the trial decode fails here, so this file decodes in software`, async () => {
      const choice = await chooseDecode(ENCODE_PROFILES[encoder], clip, target);
      assert.equal(choice.hwDecode, false);
      assert.match(
        choice.reason,
        new RegExp(
          `software decode: the trial decode on ${ENCODE_PROFILES[encoder].backend} failed \\(.+\\)`,
        ),
      );
    });
  }

  it('a CPU encoder decodes in software without a trial', async () => {
    const choice = await chooseDecode(ENCODE_PROFILES.libx265, clip, target);
    assert.deepEqual(choice, {
      hwDecode: false,
      reason: 'software decode (no device pipeline for this encoder)',
    });
  });

  it('a source the device cannot decode falls back before any trial, saying why', async () => {
    const odd = join(dir, 'yuv444.mkv');
    await generateClip({ path: odd, durationSec: 1, audioTracks: 0, pixFmt: 'yuv444p' });
    const choice = await chooseDecode(ENCODE_PROFILES.hevc_nvenc, odd, target);
    assert.equal(choice.reason, 'software decode: nvenc does not decode h264 in yuv444p');
  });
});
