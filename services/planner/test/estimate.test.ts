import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MediaSummary } from '@conform/contracts';
import { DEFAULT_POLICY, planFile, type Policy } from '../src/index.js';

// The estimate counts only what is re-encoded: a file whose size is its lossless audio is not
// promised the video codec's saving.

const MB = 1_000_000;
const policy: Policy = {
  ...DEFAULT_POLICY,
  guardrails: { ...DEFAULT_POLICY.guardrails, minSavingPercent: 10 },
};
/** 100 s, 100 MB: 1 Mbit/s of H.264 and 7 Mbit/s of PCM audio. */
const audioHeavy = (bitRate: number | null): MediaSummary => ({
  container: 'matroska,webm',
  durationSec: 100,
  bitRate: 8_000_000,
  video: { codec: 'h264', width: 1920, height: 1080, pixFmt: 'yuv420p' },
  audioStreams: 1,
  subtitleStreams: 0,
  streams: [{ index: 1, kind: 'audio', codec: 'pcm_s24le', language: 'eng', channels: 6, bitRate }],
});
const plan = (media: MediaSummary, p: Policy = policy) =>
  planFile(
    { library: '/lib', path: '/lib/concert.mkv', size: 100 * MB, media, freeBytes: null },
    p,
  );

describe('estimated output', () => {
  it('keeps copied audio at its size: 7.5 MB of video + 87.5 MB of audio saves 5 %, below the minimum', () => {
    const p = plan(audioHeavy(7_000_000));
    assert.equal(p.decision, 'skip');
    assert.match(p.reasons.at(-1) ?? '', /estimated saving 5% is below the minimum 10%/);
  });

  it('counts a converted track at its new bit rate', () => {
    const convert: Policy = {
      ...policy,
      audio: {
        ...policy.audio,
        allowedCodecs: ['aac', 'eac3'],
        reencode: { codec: 'eac3', bitrateKbps: 640 },
      },
    };
    const p = plan(audioHeavy(7_000_000), convert);
    assert.equal(p.decision, 'encode');
    // 12.5 MB of video × 0.6 + 640 kbit/s × 100 s = 7.5 + 8 MB.
    assert.equal(p.estimatedOutputBytes, 15_500_000);
  });

  it('without stream bit rates, falls back to the whole-file estimate', () => {
    assert.equal(plan(audioHeavy(null)).estimatedOutputBytes, 60 * MB);
  });
});
