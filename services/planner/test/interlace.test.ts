import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IdetSample, MediaSummary } from '@conform/contracts';
import { DEFAULT_POLICY, idetInterlaced, interlaceDecision, type Policy } from '../src/index.js';

type Video = NonNullable<MediaSummary['video']>;
const video = (over: Partial<Video>): Video => ({
  codec: 'mpeg2video',
  width: 720,
  height: 576,
  pixFmt: 'yuv420p',
  ...over,
});
const mode = (deinterlace: Policy['video']['deinterlace']): Policy => ({
  ...DEFAULT_POLICY,
  video: { ...DEFAULT_POLICY.video, deinterlace },
});
const sample = (tff: number, bff: number, progressive: number): IdetSample => ({
  fromSec: 600,
  frames: tff + bff + progressive,
  tff,
  bff,
  progressive,
  undetermined: 0,
});

describe('interlaceDecision', () => {
  it('auto deinterlaces by field order, with the parity the display order gives', () => {
    assert.deepEqual(interlaceDecision(video({ fieldOrder: 'tt' }), DEFAULT_POLICY).deinterlace, {
      parity: 'tff',
    });
    assert.deepEqual(interlaceDecision(video({ fieldOrder: 'tb' }), DEFAULT_POLICY).deinterlace, {
      parity: 'bff',
    });
    assert.deepEqual(interlaceDecision(video({ fieldOrder: 'bb' }), DEFAULT_POLICY).deinterlace, {
      parity: 'bff',
    });
    const p = interlaceDecision(video({ fieldOrder: 'progressive' }), DEFAULT_POLICY);
    assert.deepEqual(p, { deinterlace: null, reasons: [] });
  });

  it('auto falls back to the idet sample when field order says nothing', () => {
    const d = interlaceDecision(
      video({ fieldOrder: null, idet: sample(180, 2, 10) }),
      DEFAULT_POLICY,
    );
    assert.deepEqual(d.deinterlace, { parity: 'tff' });
    assert.match(
      d.reasons[0] ?? '',
      /idet over 192 frames from 600 s: TFF 180, BFF 2, progressive 10.*interlaced \(top field first\)/,
    );
    const unsampled = interlaceDecision(video({ fieldOrder: null }), DEFAULT_POLICY);
    assert.equal(unsampled.deinterlace, null);
    assert.match(
      unsampled.reasons[0] ?? '',
      /field order unknown and not sampled: not deinterlaced/,
    );
  });

  it('always deinterlaces even a progressive source; never leaves an interlaced one, saying so', () => {
    assert.deepEqual(
      interlaceDecision(video({ fieldOrder: 'progressive' }), mode('always')).deinterlace,
      {
        parity: 'auto',
      },
    );
    const never = interlaceDecision(video({ fieldOrder: 'tt' }), mode('never'));
    assert.equal(never.deinterlace, null);
    assert.match(never.reasons[0] ?? '', /not deinterlaced \(deinterlace: never\)/);
  });
});

describe('idetInterlaced', () => {
  it('needs interlaced frames to outnumber progressive ones three to one', () => {
    assert.equal(idetInterlaced(sample(0, 150, 20)), 'bff');
    assert.equal(idetInterlaced(sample(60, 0, 40)), null);
    assert.equal(idetInterlaced(sample(0, 0, 0)), null);
  });
});
