import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MediaSummary, StreamInfo } from '@conform/contracts';
import { matchesGlob } from '@conform/config';
import {
  DEFAULT_POLICY,
  planFile,
  policyVersion,
  type FilePlan,
  type PlanInput,
  type Policy,
} from '../src/index.js';

// The decision table: each row is given (media, file, policy overrides) → then (decision,
// reasons, target). Reasons are matched by pattern so a row says which rule fired.

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

function policy(over: DeepPartial<Policy> = {}): Policy {
  const merge = (base: unknown, o: unknown): unknown => {
    if (o && typeof o === 'object' && !Array.isArray(o) && base && typeof base === 'object') {
      const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
      for (const [k, v] of Object.entries(o)) out[k] = merge(out[k], v);
      return out;
    }
    return o === undefined ? base : o;
  };
  return merge(structuredClone(DEFAULT_POLICY), over) as Policy;
}

const GB = 1_000_000_000;
const audio = (index: number, codec: string, language: string | null): StreamInfo => ({
  index,
  kind: 'audio',
  codec,
  language,
  channels: 2,
});
const sub = (index: number, codec: string, language: string | null): StreamInfo => ({
  index,
  kind: 'subtitle',
  codec,
  language,
  channels: null,
});

/** A 1080p, 100 s, 8 Mbit/s H.264 file of 100 MB with one English AAC track. */
function media(
  over: Omit<Partial<MediaSummary>, 'video'> & {
    video?: Partial<NonNullable<MediaSummary['video']>> | null;
  } = {},
): MediaSummary {
  const { video, ...rest } = over;
  return {
    container: 'matroska,webm',
    durationSec: 100,
    bitRate: 8_000_000,
    audioStreams: 1,
    subtitleStreams: 0,
    streams: [audio(1, 'aac', 'eng')],
    ...rest,
    video:
      video === null
        ? null
        : {
            codec: 'h264',
            width: 1920,
            height: 1080,
            pixFmt: 'yuv420p',
            colorTransfer: null,
            ...video,
          },
  };
}

interface Row {
  name: string;
  media?: MediaSummary;
  path?: string;
  size?: number;
  freeBytes?: number | null;
  policy?: DeepPartial<Policy>;
  decision: FilePlan['decision'];
  reasons?: RegExp[];
  target?: Record<string, unknown>;
  check?: (plan: FilePlan) => void;
}

const rows: Row[] = [
  // --- skip: the file is not worth or not allowed to touch
  {
    name: 'no video stream',
    media: media({ video: null }),
    decision: 'skip',
    reasons: [/no video stream/],
  },
  {
    name: 'excluded folder',
    path: '/lib/Movie/Extras/behind.mkv',
    policy: { exclude: ['**/Extras/**'] },
    decision: 'skip',
    reasons: [/excluded by pattern "\*\*\/Extras\/\*\*"/],
  },
  {
    name: 'excluded by file-name glob, case-insensitive',
    path: '/lib/Movie/movie-SAMPLE.mkv',
    policy: { exclude: ['**/*sample*'] },
    decision: 'skip',
    reasons: [/excluded/],
  },
  {
    name: 'below the minimum size',
    size: 20_000_000,
    policy: { minimum: { sizeMB: 50 } },
    decision: 'skip',
    reasons: [/size 20 MB is below the minimum 50 MB/],
  },
  {
    name: 'below the minimum duration',
    media: media({ durationSec: 30 }),
    policy: { minimum: { durationSec: 60 } },
    decision: 'skip',
    reasons: [/duration 30 s is below the minimum 60 s/],
  },
  {
    name: 'unknown duration is not held against the file',
    media: media({ durationSec: null }),
    policy: { minimum: { durationSec: 60 } },
    decision: 'encode',
  },
  {
    name: 'HDR10 with hdr: skip',
    media: media({ video: { colorTransfer: 'smpte2084', pixFmt: 'yuv420p10le' } }),
    policy: { video: { hdr: 'skip' } },
    decision: 'skip',
    reasons: [/HDR video \(smpte2084\) and the policy skips HDR/],
  },
  {
    name: 'HLG with hdr: skip',
    media: media({ video: { colorTransfer: 'arib-std-b67' } }),
    policy: { video: { hdr: 'skip' } },
    decision: 'skip',
  },
  {
    name: 'estimated saving below the minimum',
    media: media({ video: { codec: 'vp9' } }),
    policy: { compliant: { codecs: ['hevc'] }, guardrails: { minSavingPercent: 10 } },
    decision: 'skip',
    reasons: [/estimated saving 0% is below the minimum 10%/],
  },
  {
    name: 'estimated output above the size ratio',
    media: media({ video: { codec: 'h264' } }),
    policy: { guardrails: { maxOutputRatio: 0.5 } },
    decision: 'skip',
    reasons: [/estimated output is 0.6 of the source, above the limit 0.5/],
  },
  {
    name: 'too little free disk: planned, the encoder waits for the reserve',
    freeBytes: 5 * GB,
    policy: { guardrails: { minFreeDiskGB: 20 } },
    decision: 'encode',
    reasons: [
      /free space 4\.7 GiB on \/lib is below the 18\.6 GiB needed \(the policy's reserve 18\.6 GiB\): the encoder waits/,
    ],
  },
  {
    name: 'free disk smaller than the output itself: real units, the estimate plus a margin',
    freeBytes: 1_000_000,
    decision: 'encode',
    reasons: [
      /free space 976\.6 KiB on \/lib is below the \d+\.\d MiB needed \(estimated output \d+\.\d MiB \+ 10 %\)/,
    ],
  },
  {
    name: 'image subtitles in an mp4 target with imageSubtitlesInMp4: skip',
    media: media({ streams: [audio(1, 'aac', 'eng'), sub(2, 'hdmv_pgs_subtitle', 'eng')] }),
    policy: { container: 'mp4', subtitles: { imageSubtitlesInMp4: 'skip' } },
    decision: 'skip',
    reasons: [/image subtitles \(hdmv_pgs_subtitle\) cannot go in mp4 and the policy skips/],
  },
  // --- compliant: already good enough
  {
    name: 'hevc is compliant by default',
    media: media({ video: { codec: 'hevc' } }),
    decision: 'compliant',
    reasons: [/video codec hevc is compliant/],
  },
  {
    name: 'av1 is compliant by default',
    media: media({ video: { codec: 'av1' } }),
    decision: 'compliant',
  },
  {
    name: 'hevc within its bit-rate ceiling',
    media: media({ video: { codec: 'hevc' }, bitRate: 6_000_000 }),
    policy: { compliant: { maxBitrateKbps: { '720': 4000, '1080': 8000 } } },
    decision: 'compliant',
    reasons: [/compliant/, /bit rate 6000 kbit\/s is within 8000 kbit\/s for 1080p/],
  },
  {
    name: 'a wide 1920x800 film is judged as 1080p',
    media: media({ video: { codec: 'hevc', width: 1920, height: 800 }, bitRate: 6_000_000 }),
    policy: { compliant: { maxBitrateKbps: { '720': 4000, '1080': 8000 } } },
    decision: 'compliant',
    reasons: [/compliant/, /for 1080p/],
  },
  {
    name: 'h264 listed as compliant',
    policy: { compliant: { codecs: ['h264', 'hevc'] } },
    decision: 'compliant',
  },
  {
    name: 'hevc below max height is not upscaled',
    media: media({ video: { codec: 'hevc', width: 1280, height: 720 } }),
    policy: { video: { maxHeight: 1080 } },
    decision: 'compliant',
  },
  // --- encode
  {
    name: 'h264 to hevc with the defaults, mkv kept',
    decision: 'encode',
    reasons: [
      /video codec h264 is not compliant \(hevc, av1\): encode to hevc/,
      /estimated saving 40%/,
    ],
    target: {
      videoCodec: 'hevc',
      container: 'mkv',
      maxHeight: null,
      tenBit: false,
      keepHdr: false,
    },
  },
  {
    name: 'an mp4 source stays mp4 with container: keep',
    path: '/lib/a.MP4',
    decision: 'encode',
    target: { container: 'mp4' },
  },
  {
    name: 'an avi source becomes mkv with container: keep, and says why',
    path: '/lib/a.avi',
    media: media({ video: { codec: 'mpeg4' } }),
    decision: 'encode',
    reasons: [/not compliant/, /container \.avi cannot be kept: output mkv/],
    target: { container: 'mkv' },
  },
  {
    name: 'av1 target with its CPU quality',
    policy: { video: { codec: 'av1', quality: { cpuCrf: 30 } } },
    decision: 'encode',
    target: {
      videoCodec: 'av1',
      quality: { nvencCq: 26, cpuCrf: 30, qsvQuality: 25, vaapiQp: 25 },
    },
  },
  {
    name: 'h264 target from mpeg2',
    media: media({ video: { codec: 'mpeg2video' } }),
    policy: { video: { codec: 'h264' }, compliant: { codecs: ['h264', 'hevc'] } },
    decision: 'encode',
    reasons: [/mpeg2video is not compliant/, /estimated saving 50%/],
    target: { videoCodec: 'h264' },
  },
  {
    name: 'hevc above its bit-rate ceiling is re-encoded',
    media: media({ video: { codec: 'hevc' }, bitRate: 20_000_000 }),
    size: 250_000_000,
    policy: { compliant: { maxBitrateKbps: { '1080': 8000 } } },
    decision: 'encode',
    reasons: [/bit rate 20000 kbit\/s is above 8000 kbit\/s for 1080p/],
    check: (plan) => assert.equal(plan.estimatedOutputBytes, 100_000_000, 'capped at the ceiling'),
  },
  {
    name: '4K hevc above max height is downscaled',
    media: media({ video: { codec: 'hevc', width: 3840, height: 2160 } }),
    policy: { video: { maxHeight: 1080 } },
    decision: 'encode',
    reasons: [/height 2160 is above 1080: downscale/],
    target: { maxHeight: 1080 },
    check: (plan) => assert.ok(plan.estimatedOutputBytes! < 100_000_000 * 0.4),
  },
  {
    name: 'HDR10 kept: 10-bit and HDR metadata',
    media: media({ video: { colorTransfer: 'smpte2084', pixFmt: 'yuv420p10le' } }),
    decision: 'encode',
    reasons: [/not compliant/, /HDR video \(smpte2084\): keep HDR10 colour metadata, 10-bit/],
    target: { tenBit: true, keepHdr: true },
  },
  {
    name: '10-bit output from the policy',
    policy: { video: { tenBit: true } },
    decision: 'encode',
    target: { tenBit: true, keepHdr: false },
  },
  {
    name: 'audio: copy all by default',
    media: media({ streams: [audio(1, 'truehd', 'eng'), audio(2, 'ac3', 'fre')] }),
    decision: 'encode',
    target: {
      streams: [
        { index: 1, kind: 'audio', action: 'copy', codec: null, bitrateKbps: null },
        { index: 2, kind: 'audio', action: 'copy', codec: null, bitrateKbps: null },
      ],
    },
  },
  {
    name: 'audio: keep languages drops the others, keeps untagged',
    media: media({
      streams: [audio(1, 'aac', 'eng'), audio(2, 'aac', 'ger'), audio(3, 'aac', null)],
    }),
    policy: { audio: { keepLanguages: ['eng'] } },
    decision: 'encode',
    reasons: [/drop audio track 2 \(ger\): language not kept/],
    check: (plan) =>
      assert.deepEqual(
        plan.target?.streams?.map((s) => s.action),
        ['copy', 'drop', 'copy'],
      ),
  },
  {
    name: 'audio: at least one track survives the language filter',
    media: media({ streams: [audio(1, 'aac', 'jpn'), audio(2, 'aac', 'ger')] }),
    policy: { audio: { keepLanguages: ['eng'] } },
    decision: 'encode',
    reasons: [/no audio track in eng: keeping track 1 \(jpn\)/, /drop audio track 2/],
    check: (plan) =>
      assert.deepEqual(
        plan.target?.streams?.map((s) => s.action),
        ['copy', 'drop'],
      ),
  },
  {
    name: 'audio: codecs outside the allowed list are re-encoded',
    media: media({ streams: [audio(1, 'dts', 'eng'), audio(2, 'aac', 'eng')] }),
    policy: {
      audio: { allowedCodecs: ['aac', 'ac3'], reencode: { codec: 'eac3', bitrateKbps: 640 } },
    },
    decision: 'encode',
    reasons: [
      /re-encode audio track 1 from dts to eac3 640 kbit\/s: codec not in the allowed list/,
    ],
    target: {
      streams: [
        { index: 1, kind: 'audio', action: 'convert', codec: 'eac3', bitrateKbps: 640 },
        { index: 2, kind: 'audio', action: 'copy', codec: null, bitrateKbps: null },
      ],
    },
  },
  {
    name: 'audio: truehd cannot go in mp4 and is re-encoded',
    media: media({ streams: [audio(1, 'truehd', 'eng')] }),
    policy: { container: 'mp4' },
    decision: 'encode',
    reasons: [/re-encode audio track 1 from truehd to aac 192 kbit\/s: mp4 cannot hold it/],
  },
  {
    name: 'subtitles: text converted to mov_text for mp4',
    media: media({ streams: [audio(1, 'aac', 'eng'), sub(2, 'subrip', 'eng')] }),
    policy: { container: 'mp4' },
    decision: 'encode',
    reasons: [/convert subtitle track 2 from subrip to mov_text for mp4/],
    target: { container: 'mp4' },
  },
  {
    name: 'subtitles: mov_text converted to subrip for mkv',
    path: '/lib/a.mp4',
    media: media({ streams: [audio(1, 'aac', 'eng'), sub(2, 'mov_text', 'eng')] }),
    policy: { container: 'mkv' },
    decision: 'encode',
    reasons: [/convert subtitle track 2 from mov_text to subrip for mkv/],
  },
  {
    name: 'subtitles: image subtitles switch an mp4 target to mkv, never dropped',
    path: '/lib/a.mp4',
    media: media({ streams: [audio(1, 'aac', 'eng'), sub(2, 'hdmv_pgs_subtitle', 'eng')] }),
    decision: 'encode',
    reasons: [/image subtitles \(hdmv_pgs_subtitle\) cannot go in mp4: output mkv instead/],
    target: {
      container: 'mkv',
      streams: [
        { index: 1, kind: 'audio', action: 'copy', codec: null, bitrateKbps: null },
        { index: 2, kind: 'subtitle', action: 'copy', codec: null, bitrateKbps: null },
      ],
    },
  },
  {
    name: 'subtitles: keep languages drops the others',
    media: media({
      streams: [audio(1, 'aac', 'eng'), sub(2, 'subrip', 'eng'), sub(3, 'subrip', 'spa')],
    }),
    policy: { subtitles: { keepLanguages: ['eng'] } },
    decision: 'encode',
    reasons: [/drop subtitle track 3 \(spa\): language not kept/],
  },
  {
    name: 'an old probe without stream detail copies everything (no stream plan)',
    media: (() => {
      const m = media();
      delete m.streams;
      return m;
    })(),
    decision: 'encode',
    check: (plan) => assert.equal(plan.target?.streams, undefined),
  },
  {
    name: 'enough free disk passes the guardrail',
    freeBytes: 50 * GB,
    policy: { guardrails: { minFreeDiskGB: 20 } },
    decision: 'encode',
  },
];

describe('planFile decision table', () => {
  it('has at least 30 rows', () => assert.ok(rows.length >= 30, `${rows.length} rows`));
  for (const row of rows) {
    it(`${row.decision}: ${row.name}`, () => {
      const input: PlanInput = {
        library: '/lib',
        path: row.path ?? '/lib/Movie/Movie.mkv',
        size: row.size ?? 100_000_000,
        media: row.media ?? media(),
        freeBytes: row.freeBytes === undefined ? null : row.freeBytes,
      };
      const plan = planFile(input, policy(row.policy));
      assert.equal(plan.decision, row.decision, plan.reasons.join('; '));
      assert.ok(plan.reasons.length > 0);
      for (const re of row.reasons ?? []) {
        assert.ok(
          plan.reasons.some((r) => re.test(r)),
          `no reason matches ${re}: ${plan.reasons.join('; ')}`,
        );
      }
      if (row.decision === 'encode') {
        assert.ok(plan.target);
        assert.ok(plan.estimatedOutputBytes === null || plan.estimatedOutputBytes <= input.size);
      } else {
        assert.equal(plan.target, null);
      }
      for (const [key, want] of Object.entries(row.target ?? {})) {
        assert.deepEqual((plan.target as Record<string, unknown> | null)?.[key], want, key);
      }
      row.check?.(plan);
    });
  }

  it('is pure: the same input and policy give the same plan', () => {
    const input: PlanInput = {
      library: '/lib',
      path: '/lib/a.mkv',
      size: 1e8,
      media: media(),
      freeBytes: null,
    };
    assert.deepEqual(
      planFile(input, DEFAULT_POLICY),
      planFile(structuredClone(input), DEFAULT_POLICY),
    );
  });
});

describe('policyVersion', () => {
  it('ignores key order and changes with any rule', () => {
    const reordered = Object.fromEntries(Object.entries(DEFAULT_POLICY).reverse()) as Policy;
    assert.equal(policyVersion(reordered), policyVersion(DEFAULT_POLICY));
    assert.notEqual(
      policyVersion(policy({ video: { quality: { cpuCrf: 23 } } })),
      policyVersion(DEFAULT_POLICY),
    );
  });
});

describe('matchesGlob', () => {
  for (const [path, glob, want] of [
    ['Extras/a.mkv', '**/Extras/**', true],
    ['Movie/Extras/a.mkv', '**/Extras/**', true],
    ['Movie/ExtrasX/a.mkv', '**/Extras/**', false],
    ['a.sample.mkv', '*sample*', true],
    ['Movie/a.mkv', '*.mkv', false],
    ['Movie/a.mkv', '**/*.mkv', true],
    ['Movie/a (1).mkv', 'Movie/a (?).mkv', true],
  ] as const) {
    it(`${glob} ${want ? 'matches' : 'does not match'} ${path}`, () => {
      assert.equal(matchesGlob(path, glob), want);
    });
  }
});
