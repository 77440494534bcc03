import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MediaSummary } from '@conform/contracts';
import {
  chromaOf,
  DEFAULT_POLICY,
  depthOf,
  outputPicture,
  planFile,
  type Policy,
} from '../src/index.js';

// The output picture is the policy's decision, not the source's accident: chroma, bit depth
// and a frame size the chroma can hold.

type Video = NonNullable<MediaSummary['video']>;
const video = (over: Partial<Video> = {}): Video => ({
  codec: 'h264',
  width: 1920,
  height: 1080,
  pixFmt: 'yuv420p',
  ...over,
});
const policy = (video: Partial<Policy['video']> = {}): Policy => ({
  ...structuredClone(DEFAULT_POLICY),
  video: { ...DEFAULT_POLICY.video, ...video },
});

describe('chromaOf / depthOf', () => {
  it('reads planar, semi-planar, full-range and RGB names', () => {
    assert.equal(chromaOf('yuv444p'), '444');
    assert.equal(chromaOf('yuvj422p'), '422');
    assert.equal(chromaOf('yuv420p10le'), '420');
    assert.equal(chromaOf('nv12'), '420');
    assert.equal(chromaOf('gbrp'), '444');
    assert.equal(chromaOf('gray'), '420');
    assert.equal(depthOf('yuv444p10le'), 10);
    assert.equal(depthOf('p010le'), 10);
    assert.equal(depthOf('yuv420p'), 8);
  });
});

describe('outputPicture', () => {
  it('a 321x241 4:4:4 source becomes 4:2:0 at 320x240 by default, saying why', () => {
    const out = outputPicture(
      video({ width: 321, height: 241, pixFmt: 'yuv444p' }),
      policy(),
      false,
      null,
    );
    assert.equal(out.pixFmt, 'yuv420p');
    assert.deepEqual([out.width, out.height], [320, 240]);
    assert.ok(
      out.reasons.some((r) => /4:4:4 \(yuv444p\): output 4:2:0 .*keepChroma is off/.test(r)),
    );
    assert.ok(out.reasons.some((r) => /321x241 has odd dimensions.*output 320x240/.test(r)));
  });

  it('keepChroma keeps 4:4:4 and its odd size, which 4:4:4 can hold', () => {
    const out = outputPicture(
      video({ width: 321, height: 241, pixFmt: 'yuv444p' }),
      policy({ keepChroma: true }),
      false,
      null,
    );
    assert.equal(out.pixFmt, 'yuv444p');
    assert.deepEqual([out.width, out.height], [321, 241]);
  });

  it('keepChroma keeps 4:2:2 with an even width only', () => {
    const out = outputPicture(
      video({ width: 721, height: 481, pixFmt: 'yuv422p10le', bitDepth: 10 }),
      policy({ keepChroma: true }),
      false,
      null,
    );
    assert.equal(out.pixFmt, 'yuv422p10le');
    assert.deepEqual([out.width, out.height], [720, 481]);
  });

  it('never reduces a 10-bit source to 8 bit, and says so', () => {
    const out = outputPicture(
      video({ pixFmt: 'yuv420p10le', bitDepth: 10 }),
      policy(),
      false,
      null,
    );
    assert.equal(out.pixFmt, 'yuv420p10le');
    assert.ok(
      out.reasons.some((r) => /10-bit \(yuv420p10le\): 10-bit output, not reduced/.test(r)),
    );
  });

  it('tenBit makes 8-bit sources 10 bit; an h264 target stays 8-bit with the reason', () => {
    assert.equal(
      outputPicture(video(), policy({ tenBit: true }), false, null).pixFmt,
      'yuv420p10le',
    );
    const h264 = outputPicture(video(), policy({ tenBit: true, codec: 'h264' }), false, null);
    assert.equal(h264.pixFmt, 'yuv420p');
    assert.ok(h264.reasons.some((r) => /h264 output is 8-bit only/.test(r)));
  });

  it('AV1 keeps 4:2:0 even with keepChroma (SVT-AV1 takes 4:2:0 only)', () => {
    const out = outputPicture(
      video({ pixFmt: 'yuv444p' }),
      policy({ keepChroma: true, codec: 'av1' }),
      false,
      null,
    );
    assert.equal(out.pixFmt, 'yuv420p');
    assert.ok(out.reasons.some((r) => /av1 encoders take 4:2:0 only/.test(r)));
  });

  it('a downscale keeps the aspect ratio on even sizes', () => {
    const out = outputPicture(video({ width: 3840, height: 2160 }), policy(), false, 1080);
    assert.deepEqual([out.width, out.height], [1920, 1080]);
    const odd = outputPicture(video({ width: 1000, height: 750 }), policy(), false, 481);
    assert.deepEqual([odd.width, odd.height], [640, 480]);
  });
});

describe('planFile target', () => {
  it('carries the pixel format and frame size the verifier will check', () => {
    const plan = planFile(
      {
        library: '/lib',
        path: '/lib/a.mkv',
        size: 100_000_000,
        freeBytes: null,
        media: {
          container: 'matroska,webm',
          durationSec: 100,
          bitRate: 8_000_000,
          video: video({ width: 321, height: 241, pixFmt: 'yuv444p' }),
          audioStreams: 0,
          subtitleStreams: 0,
        },
      },
      policy(),
    );
    assert.equal(plan.decision, 'encode');
    assert.equal(plan.target?.pixFmt, 'yuv420p');
    assert.deepEqual(plan.target?.frameSize, { width: 320, height: 240 });
    assert.equal(plan.target?.tenBit, false);
  });
});
