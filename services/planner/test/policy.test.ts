import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MediaSummary } from '@conform/contracts';
import {
  assertValidPolicy,
  DEFAULT_POLICY,
  InvalidPolicyError,
  planFile,
  policyVersion,
  type Policy,
} from '../src/index.js';

const h264: MediaSummary = {
  container: 'mov,mp4,m4a,3gp,3g2,mj2',
  durationSec: 100,
  bitRate: 8_000_000,
  video: { codec: 'h264', width: 1920, height: 1080, pixFmt: 'yuv420p' },
  audioStreams: 2,
  subtitleStreams: 1,
};
const withCodec = (codec: string): MediaSummary => ({
  ...h264,
  video: { codec, width: 1920, height: 1080, pixFmt: 'yuv420p' },
});

describe('planFile with the default policy', () => {
  describe('given a video that is not hevc', () => {
    for (const [path, container] of [
      ['/lib/a.mp4', 'mp4'],
      ['/lib/a.M4V', 'mp4'],
      ['/lib/a.mov', 'mp4'],
      ['/lib/a.mkv', 'mkv'],
      ['/lib/a.avi', 'mkv'],
      ['/lib/no-extension', 'mkv'],
    ] as const) {
      it(`plans ${path} for an hevc ${container}`, () => {
        const plan = planFile(h264, path, DEFAULT_POLICY);
        assert.equal(plan.decision, 'encode');
        assert.deepEqual(plan.target, { videoCodec: 'hevc', container });
        assert.deepEqual(plan.reasons, ['video codec h264 is not hevc']);
      });
    }

    it('estimates the output as half of an h264 source (bit rate × duration)', () => {
      // 8 Mbit/s for 100 s = 100 MB; half of it.
      assert.equal(planFile(h264, '/lib/a.mkv', DEFAULT_POLICY).estimatedOutputBytes, 50_000_000);
    });

    it('uses the default ratio for a codec the policy does not list', () => {
      const plan = planFile(withCodec('vp9'), '/lib/a.webm', DEFAULT_POLICY);
      assert.equal(plan.estimatedOutputBytes, 60_000_000);
      assert.deepEqual(plan.reasons, ['video codec vp9 is not hevc']);
    });

    it('gives no estimate when the bit rate is unknown', () => {
      const plan = planFile({ ...h264, bitRate: null }, '/lib/a.mkv', DEFAULT_POLICY);
      assert.equal(plan.decision, 'encode');
      assert.equal(plan.estimatedOutputBytes, null);
    });
  });

  describe('given an hevc video', () => {
    it('marks it compliant with no target', () => {
      const plan = planFile(withCodec('hevc'), '/lib/a.mkv', DEFAULT_POLICY);
      assert.equal(plan.decision, 'compliant');
      assert.equal(plan.target, null);
      assert.equal(plan.estimatedOutputBytes, null);
      assert.deepEqual(plan.reasons, ['video codec is already hevc']);
    });
  });

  describe('given no video stream', () => {
    it('skips it', () => {
      const plan = planFile({ ...h264, video: null }, '/lib/a.mka', DEFAULT_POLICY);
      assert.equal(plan.decision, 'skip');
      assert.deepEqual(plan.reasons, ['no video stream']);
      assert.equal(plan.target, null);
    });
  });
});

describe('policyVersion', () => {
  it('is 12 hex digits and stable whatever the key order', () => {
    const reordered: Policy = {
      sizeRatio: { default: 0.6, mpeg4: 0.4, mpeg2video: 0.3, h264: 0.5 },
      mp4Extensions: ['.mp4', '.m4v', '.mov'],
      targetVideoCodec: 'hevc',
    };
    assert.match(policyVersion(DEFAULT_POLICY), /^[0-9a-f]{12}$/);
    assert.equal(policyVersion(reordered), policyVersion(DEFAULT_POLICY));
  });

  it('changes when a rule changes', () => {
    const changed: Policy = { ...DEFAULT_POLICY, mp4Extensions: ['.mp4'] };
    assert.notEqual(policyVersion(changed), policyVersion(DEFAULT_POLICY));
  });
});

describe('assertValidPolicy', () => {
  it('accepts the default policy', () => {
    assertValidPolicy(DEFAULT_POLICY);
  });

  it('rejects a zero size ratio, naming the key', () => {
    assert.throws(
      () => assertValidPolicy({ ...DEFAULT_POLICY, sizeRatio: { default: 0 } }),
      (e: unknown) => e instanceof InvalidPolicyError && /sizeRatio\.default/.test(e.message),
    );
  });

  it('rejects an extension without its dot', () => {
    assert.throws(
      () => assertValidPolicy({ ...DEFAULT_POLICY, mp4Extensions: ['mp4'] }),
      InvalidPolicyError,
    );
  });
});
