import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sampleData, type EncodeTarget, type VerificationCheck } from '@conform/contracts';
import {
  DEFAULT_LIMITS,
  decodeCheck,
  durationToleranceSec,
  effectiveLimits,
  factsFromProbe,
  failedSizeGuard,
  parseSsim,
  probeChecks,
  ssimCheck,
  ssimSegments,
  verificationEvent,
  type MediaFacts,
} from '../src/index.js';

const source: MediaFacts = {
  container: 'mov,mp4,m4a,3gp,3g2,mj2',
  durationSec: 600,
  sizeBytes: 1_000_000,
  video: {
    codec: 'h264',
    width: 1920,
    height: 1080,
    pixFmt: 'yuv420p',
    colorPrimaries: null,
    colorTransfer: null,
    colorSpace: null,
  },
  audioLanguages: ['eng', 'fra'],
  subtitleLanguages: ['eng'],
};
const good: MediaFacts = {
  ...source,
  sizeBytes: 400_000,
  video: { ...source.video!, codec: 'hevc' },
};
const hdrSource: MediaFacts = {
  ...source,
  video: {
    ...source.video!,
    pixFmt: 'yuv420p10le',
    colorPrimaries: 'bt2020',
    colorTransfer: 'smpte2084',
    colorSpace: 'bt2020nc',
  },
};
const mp4: EncodeTarget = { videoCodec: 'hevc', container: 'mp4' };
const limits = DEFAULT_LIMITS;

const named = (checks: VerificationCheck[], name: string): VerificationCheck => {
  const found = checks.find((c) => c.name === name);
  assert.ok(found, `check ${name} present`);
  return found;
};
const failedNames = (checks: VerificationCheck[]) =>
  checks.filter((c) => !c.passed).map((c) => c.name);

describe('probeChecks', () => {
  describe('given a faithful output', () => {
    it('passes every probe check, each with its measured value and limit', () => {
      const checks = probeChecks(source, good, 1_000_000, mp4, limits);
      assert.deepEqual(
        checks.map((c) => c.name),
        [
          'output-probes',
          'video-codec',
          'container',
          'duration',
          'audio-streams',
          'subtitle-streams',
          'pixel-format',
          'hdr-metadata',
          'size-guard',
        ],
      );
      assert.deepEqual(failedNames(checks), []);
      assert.deepEqual(named(checks, 'audio-streams'), {
        name: 'audio-streams',
        passed: true,
        measured: '2 (eng, fra)',
        limit: '2 (eng, fra)',
      });
      assert.deepEqual(named(checks, 'size-guard'), {
        name: 'size-guard',
        passed: true,
        measured: 0.4,
        limit: 1,
      });
    });
  });

  describe('given an output that lost something', () => {
    it('fails a dropped audio track, naming the languages', () => {
      const checks = probeChecks(
        source,
        { ...good, audioLanguages: ['eng'] },
        1_000_000,
        mp4,
        limits,
      );
      assert.deepEqual(failedNames(checks), ['audio-streams']);
      assert.equal(named(checks, 'audio-streams').measured, '1 (eng)');
    });

    it('fails a track whose language changed', () => {
      const checks = probeChecks(
        source,
        { ...good, subtitleLanguages: ['und'] },
        1_000_000,
        mp4,
        limits,
      );
      assert.deepEqual(failedNames(checks), ['subtitle-streams']);
    });

    it('fails a truncated output on duration: 3 minutes of a 43-minute film', () => {
      const film = { ...source, durationSec: 43 * 60 };
      const checks = probeChecks(film, { ...good, durationSec: 180 }, 1_000_000, mp4, limits);
      assert.deepEqual(failedNames(checks), ['duration']);
      assert.equal(named(checks, 'duration').limit, '2580±12.9');
    });

    it('fails the wrong codec, container or a downgraded pixel format', () => {
      const out: MediaFacts = {
        ...good,
        container: 'matroska,webm',
        video: { ...good.video!, codec: 'h264', pixFmt: 'yuv420p' },
      };
      const checks = probeChecks(hdrSource, out, 1_000_000, mp4, limits);
      assert.deepEqual(failedNames(checks), [
        'video-codec',
        'container',
        'pixel-format',
        'hdr-metadata',
      ]);
      assert.deepEqual(named(checks, 'pixel-format'), {
        name: 'pixel-format',
        passed: false,
        measured: 'yuv420p',
        limit: 'yuv420p10le',
      });
    });

    it('fails an HDR output that lost its transfer tag', () => {
      const out: MediaFacts = {
        ...hdrSource,
        video: { ...hdrSource.video!, codec: 'hevc', colorTransfer: null },
      };
      const checks = probeChecks(hdrSource, out, 1_000_000, mp4, limits);
      assert.deepEqual(named(checks, 'hdr-metadata'), {
        name: 'hdr-metadata',
        passed: false,
        measured: 'bt2020/-/bt2020nc',
        limit: 'bt2020/smpte2084/bt2020nc',
      });
    });

    it('passes an HDR output that kept every colour tag', () => {
      const out: MediaFacts = { ...hdrSource, video: { ...hdrSource.video!, codec: 'hevc' } };
      assert.deepEqual(failedNames(probeChecks(hdrSource, out, 1_000_000, mp4, limits)), []);
    });
  });

  describe('given the size guard', () => {
    it('fails an output larger than the allowed ratio of the input', () => {
      const checks = probeChecks(source, { ...good, sizeBytes: 1_200_000 }, 1_000_000, mp4, limits);
      assert.deepEqual(failedNames(checks), ['size-guard']);
      assert.equal(named(checks, 'size-guard').measured, 1.2);
      assert.ok(failedSizeGuard(checks));
    });

    it('holds the output to the policy ratio when the encode carries one', () => {
      const strict = effectiveLimits({ maxSizeRatio: 0.3 });
      const checks = probeChecks(source, good, 1_000_000, mp4, strict);
      assert.deepEqual(named(checks, 'size-guard'), {
        name: 'size-guard',
        passed: false,
        measured: 0.4,
        limit: 0.3,
      });
      assert.equal(strict.ssimFloor, DEFAULT_LIMITS.ssimFloor);
    });
  });

  it('cannot pass a duration when the source duration is unknown', () => {
    const checks = probeChecks({ ...source, durationSec: null }, good, 1_000_000, mp4, limits);
    assert.deepEqual(failedNames(checks), ['duration']);
  });
});

describe('durationToleranceSec', () => {
  it('is half a second for short files and 0.5 % for long ones', () => {
    assert.equal(durationToleranceSec(2), 0.5);
    assert.equal(durationToleranceSec(600), 3);
  });
});

describe('decodeCheck', () => {
  it('passes a clean decode', () => {
    assert.equal(decodeCheck({ exitCode: 0, errors: [] }).passed, true);
  });
  it('fails on any decoder error, quoting the first', () => {
    const c = decodeCheck({ exitCode: 0, errors: ['[hevc @ 0x1] Invalid NAL unit size', 'x'] });
    assert.equal(c.passed, false);
    assert.equal(c.measured, '2 error(s), exit 0: [hevc @ 0x1] Invalid NAL unit size');
  });
  it('fails on a non-zero exit', () => {
    assert.equal(decodeCheck({ exitCode: 1, errors: [] }).passed, false);
  });
});

describe('ssim', () => {
  it('samples three segments of a long film away from its ends', () => {
    assert.deepEqual(ssimSegments(2400), [
      { startSec: 599, lengthSec: 2 },
      { startSec: 1199, lengthSec: 2 },
      { startSec: 1799, lengthSec: 2 },
    ]);
  });
  it('compares a short clip whole', () => {
    assert.deepEqual(ssimSegments(2), [{ startSec: 0, lengthSec: 2 }]);
  });
  it('reads the All figure of the filter summary', () => {
    const line =
      '[Parsed_ssim_3 @ 0x5] SSIM Y:0.986377 (18.65) U:0.988 (19.3) V:0.99 (20.9) All:0.987650 (19.08)';
    assert.equal(parseSsim(`frame=50\n${line}\n`), 0.98765);
    assert.equal(parseSsim('no summary'), null);
  });
  it('holds the worst segment to the floor', () => {
    const seg = { startSec: 0, lengthSec: 2 };
    const c = ssimCheck(
      [
        { ...seg, ssim: 0.99 },
        { ...seg, ssim: 0.9 },
      ],
      0.95,
    );
    assert.deepEqual(c, { name: 'ssim', passed: false, measured: 0.9, limit: 0.95 });
    assert.equal(ssimCheck([{ ...seg, ssim: 0.97 }], 0.95).passed, true);
    assert.equal(ssimCheck([], 0.95).passed, false);
  });
});

describe('factsFromProbe', () => {
  it('reads languages, colour tags and treats `unknown` as untagged', () => {
    const facts = factsFromProbe(
      {
        format: { format_name: 'matroska,webm', duration: '2.000' },
        streams: [
          {
            codec_type: 'video',
            codec_name: 'hevc',
            pix_fmt: 'yuv420p',
            color_transfer: 'unknown',
          },
          { codec_type: 'audio', tags: { language: 'fra' } },
          { codec_type: 'audio' },
          { codec_type: 'subtitle', tags: { language: 'eng' } },
        ],
      },
      123,
    );
    assert.deepEqual(facts.audioLanguages, ['fra', 'und']);
    assert.deepEqual(facts.subtitleLanguages, ['eng']);
    assert.equal(facts.video?.colorTransfer, null);
    assert.equal(facts.sizeBytes, 123);
  });
});

describe('verificationEvent', () => {
  const completed = { ...sampleData['encode.completed'], policyVersion: 'p9' };
  it('is verify.passed when every check passed, carrying the policy version', () => {
    const e = verificationEvent(completed, [
      { name: 'duration', passed: true, measured: 2, limit: '2±0.5' },
    ]);
    assert.equal(e.type, 'verify.passed');
    assert.equal((e.data as { policyVersion?: string }).policyVersion, 'p9');
  });
  it('is verify.failed when one check failed', () => {
    const e = verificationEvent(completed, [
      { name: 'duration', passed: true, measured: 2, limit: '2±0.5' },
      { name: 'size-guard', passed: false, measured: 1.2, limit: 1 },
    ]);
    assert.equal(e.type, 'verify.failed');
  });
  it('leaves policyVersion out when the encode did not carry it', () => {
    const e = verificationEvent(sampleData['encode.completed'], []);
    assert.equal('policyVersion' in e.data, false);
  });
});

describe('pixel format and frame size from the plan', () => {
  const yuv444: MediaFacts = {
    ...source,
    video: { ...source.video!, width: 321, height: 241, pixFmt: 'yuv444p' },
  };
  const out = (pixFmt: string, width: number, height: number): MediaFacts => ({
    ...good,
    video: { ...good.video!, pixFmt, width, height },
  });
  const planned: EncodeTarget = {
    ...mp4,
    pixFmt: 'yuv420p',
    frameSize: { width: 320, height: 240 },
  };

  it('holds a 4:4:4 source’s output to the plan’s 4:2:0 and its even size, not the source’s', () => {
    const checks = probeChecks(yuv444, out('yuv420p', 320, 240), 1_000_000, planned, limits);
    assert.deepEqual(failedNames(checks), []);
    assert.deepEqual(named(checks, 'pixel-format'), {
      name: 'pixel-format',
      passed: true,
      measured: 'yuv420p',
      limit: 'yuv420p',
    });
    assert.deepEqual(named(checks, 'frame-size'), {
      name: 'frame-size',
      passed: true,
      measured: '320x240',
      limit: '320x240',
    });
  });

  it('fails an output that kept the source’s format when the plan said otherwise', () => {
    const checks = probeChecks(yuv444, out('yuv444p', 321, 241), 1_000_000, planned, limits);
    assert.deepEqual(failedNames(checks), ['pixel-format', 'frame-size']);
  });

  it('holds the output to the format the encoder says it had to write instead', () => {
    const target = { ...planned, pixFmt: 'yuv444p10le' };
    const checks = probeChecks(
      yuv444,
      out('yuv420p10le', 320, 240),
      1_000_000,
      target,
      limits,
      'yuv420p10le',
    );
    assert.equal(named(checks, 'pixel-format').passed, true);
  });
});
