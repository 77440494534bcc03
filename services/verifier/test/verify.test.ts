import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sampleData, type EncodeTarget, type VerificationCheck } from '@conform/contracts';
import {
  DEFAULT_LIMITS,
  alignSegments,
  chooseKeyframe,
  decodeCheck,
  durationToleranceSec,
  effectiveLimits,
  factsFromProbe,
  failedSizeGuard,
  keyframesFromProbe,
  parseSsim,
  probeChecks,
  ssimArgs,
  ssimCheck,
  ssimSegments,
  streamPlanChecks,
  verificationEvent,
  type FactStream,
  type MediaFacts,
} from '../src/index.js';

const source: MediaFacts = {
  container: 'mov,mp4,m4a,3gp,3g2,mj2',
  startSec: 0,
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
    fieldOrder: 'progressive',
    rotation: null,
    startSec: 0,
  },
  audioLanguages: ['eng', 'fra'],
  subtitleLanguages: ['eng'],
  streams: [],
  chapters: 0,
  timecode: null,
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
    assert.equal(decodeCheck({ exitCode: 0, errors: [], frames: 50 }).passed, true);
  });
  it('fails on any decoder error, quoting the first', () => {
    const c = decodeCheck({
      exitCode: 0,
      errors: ['[hevc @ 0x1] Invalid NAL unit size', 'x'],
      frames: 50,
    });
    assert.equal(c.passed, false);
    assert.equal(c.measured, '2 error(s), exit 0: [hevc @ 0x1] Invalid NAL unit size');
  });
  it('fails on a non-zero exit', () => {
    assert.equal(decodeCheck({ exitCode: 1, errors: [], frames: null }).passed, false);
  });
});

describe('ssim', () => {
  it('samples four one-second segments of a long film away from its ends', () => {
    assert.deepEqual(ssimSegments(2500), [
      { startSec: 499.5, lengthSec: 1 },
      { startSec: 999.5, lengthSec: 1 },
      { startSec: 1499.5, lengthSec: 1 },
      { startSec: 1999.5, lengthSec: 1 },
    ]);
  });
  it('compares a short clip whole', () => {
    assert.deepEqual(ssimSegments(2), [{ startSec: 0, lengthSec: 2 }]);
    assert.deepEqual(ssimSegments(8), [{ startSec: 0, lengthSec: 8 }]);
  });
  it('starts each segment just past its keyframe; unknown or later keyframes leave it put', () => {
    const wanted = ssimSegments(2500);
    assert.deepEqual(alignSegments(wanted, [499.04, 998, null, 2100]), [
      { startSec: 499.18, lengthSec: 1 },
      { startSec: 998.14, lengthSec: 1 },
      { startSec: 1499.5, lengthSec: 1 },
      { startSec: 1999.5, lengthSec: 1 },
    ]);
  });
  it('measures segments landing on a keyframe already measured once', () => {
    // A 20 s clip with 10 s GOPs in both files: keyframes at 0 and 10 only.
    assert.deepEqual(alignSegments(ssimSegments(20), [0.023, 0.023, 10.023, 10]), [
      { startSec: 0.163, lengthSec: 1 },
      { startSec: 10.163, lengthSec: 1 },
    ]);
  });
  it('chooses the keyframe that wastes least decoding', () => {
    // Source GOP 1 s, output GOP 10 s: the output's keyframe at 0 (the source decodes from 2 s
    // to 2, nothing) beats the source's at 3 (the output would decode 3 s for nothing).
    assert.equal(chooseKeyframe({ source: 3, output: 0 }, 0), 0);
    // The later-keyed file's keyframe before the earlier one is far back: take the later one.
    assert.equal(chooseKeyframe({ source: 3, output: 2.5 }, 0), 3);
    // Unknown: the later keyframe (bounded waste: the gap between the two).
    assert.equal(chooseKeyframe({ source: 3, output: 0 }, null), 3);
    assert.equal(chooseKeyframe({ source: 4, output: 4 }, null), 4);
    assert.equal(chooseKeyframe({ source: null, output: 7 }, null), 7);
    assert.equal(chooseKeyframe({ source: null, output: null }, null), null);
  });
  it('reads the keyframe each seek lands on, on the video’s own timeline', () => {
    const json = JSON.stringify({
      packets: [
        { pts_time: '1.523000', flags: 'K_' },
        { pts_time: '11.523000', flags: '__' },
      ],
    });
    assert.deepEqual(keyframesFromProbe(json, 2, 0.5), [1.023, null]);
    // A packet missing for one interval: nothing can be lined up.
    assert.deepEqual(keyframesFromProbe(json, 3, 0), [null, null, null]);
    assert.deepEqual(keyframesFromProbe('not json', 1, 0), [null]);
  });
  it('seeks each file to the same picture: its video’s offset past the file start added', () => {
    const args = ssimArgs(
      '/m/src.mp4',
      '/w/out.mkv',
      { startSec: 10.163, lengthSec: 1 },
      { sourceSec: 0, outputSec: 0.023 },
    );
    assert.deepEqual(args, [
      '-hide_banner',
      '-nostdin',
      '-ss',
      '10.186',
      '-t',
      '1',
      '-i',
      '/w/out.mkv',
      '-ss',
      '10.163',
      '-t',
      '1',
      '-i',
      '/m/src.mp4',
      '-filter_complex',
      '[1:v:0]setpts=PTS-STARTPTS[s0];[0:v:0]setpts=PTS-STARTPTS[o0];[o0][s0]scale2ref[o][s];[o][s]ssim',
      '-an',
      '-f',
      'null',
      '-',
    ]);
    // A whole short file is read from its start, without seeking.
    assert.equal(ssimArgs('/s', '/o', { startSec: 0, lengthSec: 2 }).includes('-ss'), false);
  });
  it('seeks an MPEG-TS source to before its keyframe and cuts it to the segment in the graph', () => {
    // The segment starts 0.14 s past a keyframe; a seek in MPEG-TS lands on any packet, so the
    // source is sought 0.24 s early, and `-t` (which would count from the first frame decoded)
    // gives way to the graph's trim.
    const args = ssimArgs(
      '/m/rec.ts',
      '/w/out.mkv',
      { startSec: 4.14, lengthSec: 1 },
      { sourceSec: 0.023, outputSec: 0.04, sourceSeekBackSec: 0.24 },
    );
    assert.deepEqual(args.slice(2, 13), [
      ...['-ss', '4.18', '-t', '1', '-i', '/w/out.mkv'],
      ...['-ss', '3.923', '-i', '/m/rec.ts', '-filter_complex'],
    ]);
    assert.equal(
      args[13],
      '[1:v:0]trim=start=0.24:duration=1,setpts=PTS-STARTPTS[s0];[0:v:0]setpts=PTS-STARTPTS[o0];' +
        '[o0][s0]scale2ref[o][s];[o][s]ssim',
    );
    // Near the file's start it is still sought, to just past the start (see ssimArgs).
    const early = ssimArgs(
      '/m/rec.ts',
      '/w/out.mkv',
      { startSec: 0.14, lengthSec: 1 },
      { sourceSec: 0.023, outputSec: 0.04, sourceSeekBackSec: 0.24 },
    );
    assert.deepEqual(early.slice(8, 10), ['-ss', '0.001']);
    assert.match(early[13] ?? '', /^\[1:v:0\]trim=start=0\.162:duration=1,/);
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
        format: { format_name: 'matroska,webm', duration: '2.000', start_time: '0.000000' },
        streams: [
          {
            codec_type: 'video',
            codec_name: 'hevc',
            pix_fmt: 'yuv420p',
            color_transfer: 'unknown',
            start_time: '0.023000',
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
    // Where the video starts in the file: SSIM seeks both files to the same picture by it.
    assert.equal(facts.startSec, 0);
    assert.equal(facts.video?.startSec, 0.023);
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

describe('stream plan checks', () => {
  const st = (
    over: Partial<FactStream> & Pick<FactStream, 'index' | 'kind' | 'codec'>,
  ): FactStream => ({
    language: 'und',
    title: null,
    default: false,
    forced: false,
    filename: null,
    ...over,
  });
  const src: MediaFacts = {
    ...source,
    container: 'matroska,webm',
    streams: [
      st({ index: 1, kind: 'audio', codec: 'flac', language: 'eng', title: 'Main', default: true }),
      st({ index: 2, kind: 'subtitle', codec: 'subrip', language: 'eng', forced: true }),
      st({ index: 3, kind: 'cover', codec: 'mjpeg' }),
      st({ index: 4, kind: 'attachment', codec: 'ttf', filename: 'Font.ttf' }),
    ],
    chapters: 3,
  };
  const target: EncodeTarget = {
    videoCodec: 'hevc',
    container: 'mkv',
    allStreams: true,
    chapters: 'keep',
    streams: [
      { index: 1, kind: 'audio', action: 'convert', codec: 'eac3', bitrateKbps: 640 },
      { index: 2, kind: 'subtitle', action: 'copy', codec: null, bitrateKbps: null },
      { index: 3, kind: 'cover', action: 'copy', codec: null, bitrateKbps: null },
      { index: 4, kind: 'attachment', action: 'copy', codec: null, bitrateKbps: null },
    ],
  };
  const faithful: MediaFacts = {
    ...good,
    container: 'matroska,webm',
    streams: [
      st({ index: 1, kind: 'audio', codec: 'eac3', language: 'eng', title: 'Main', default: true }),
      st({ index: 2, kind: 'subtitle', codec: 'subrip', language: 'eng', forced: true }),
      st({ index: 3, kind: 'attachment', codec: 'ttf', filename: 'Font.ttf' }),
      st({ index: 4, kind: 'cover', codec: 'png', filename: 'cover.png' }),
    ],
    chapters: 3,
  };

  it('passes an output that holds every kept stream (attachments after tracks is fine)', () => {
    const checks = streamPlanChecks(src, faithful, target);
    assert.deepEqual(failedNames(checks), []);
    assert.equal(
      named(checks, 'streams').limit,
      'audio(eac3 eng), subtitle(subrip eng), cover(), attachment(ttf Font.ttf)',
    );
  });

  it('fails a lost cover, a lost title, a lost forced flag and lost chapters', () => {
    const lossy: MediaFacts = {
      ...faithful,
      streams: [
        st({ index: 1, kind: 'audio', codec: 'eac3', language: 'eng', default: true }),
        st({ index: 2, kind: 'subtitle', codec: 'subrip', language: 'eng' }),
        st({ index: 3, kind: 'attachment', codec: 'ttf', filename: 'Font.ttf' }),
      ],
      chapters: 0,
    };
    assert.deepEqual(failedNames(streamPlanChecks(src, lossy, target)), [
      'streams',
      'stream-titles',
      'dispositions',
      'chapters',
    ]);
  });

  it('expects nothing of a dropped stream and no chapters when they are dropped', () => {
    const dropping: EncodeTarget = {
      ...target,
      chapters: 'drop',
      streams: target.streams!.map((p) => (p.kind === 'cover' ? { ...p, action: 'drop' } : p)),
    };
    const out = {
      ...faithful,
      streams: faithful.streams.filter((s) => s.kind !== 'cover'),
      chapters: 0,
    };
    assert.deepEqual(failedNames(streamPlanChecks(src, out, dropping)), []);
    assert.deepEqual(failedNames(streamPlanChecks(src, faithful, dropping)), [
      'streams',
      'chapters',
    ]);
  });
});
