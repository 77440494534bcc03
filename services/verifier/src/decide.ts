// The verifier's checks, pure: from the probe of the output and the source, the decode pass and
// the SSIM samples to one check each (duration, streams, pixel format, field order, frame count,
// quality, size guard) and the verdict event. One job; long because every check names what it
// measured against which limit, so a failed verdict explains itself.
import { isHdrTransfer } from '@conform/contracts';
import type {
  DomainEvent,
  EncodeCompletedData,
  EncodeTarget,
  VerificationCheck,
  VerificationDecode,
  VerificationLimits,
} from '@conform/contracts';
import type { MediaFacts } from './facts.js';
import { streamPlanChecks } from './streams.js';
import type { DecodeResult } from './decode.js';
import type { SsimSample } from './passes.js';

/** The limits used when the policy sets none (documented in the README). */
export const DEFAULT_LIMITS: Required<VerificationLimits> = {
  // An encode that does not make the file smaller is not worth an original's risk.
  maxSizeRatio: 1.0,
  // libx265 CRF 26 scores about 0.99 on our test clips; 0.95 catches broken or smeared output.
  ssimFloor: 0.95,
};

/** The limits one output is held to: the policy's, carried by `encode.completed`, else defaults. */
export function effectiveLimits(
  limits: VerificationLimits | undefined,
): Required<VerificationLimits> {
  return {
    maxSizeRatio: limits?.maxSizeRatio ?? DEFAULT_LIMITS.maxSizeRatio,
    ssimFloor: limits?.ssimFloor ?? DEFAULT_LIMITS.ssimFloor,
  };
}

/** Duration tolerance: the larger of half a second and 0.5 % of the source. */
export function durationToleranceSec(sourceDurationSec: number): number {
  return Math.max(0.5, sourceDurationSec * 0.005);
}

// ffprobe's format_name for each target container.
const CONTAINER_FORMATS: Record<EncodeTarget['container'], RegExp> = {
  mp4: /(^|,)mp4(,|$)/,
  mkv: /(^|,)matroska(,|$)/,
};

/** The failed `output-probes` check of an output ffprobe cannot read; nothing else is measurable. */
export function unreadableOutputCheck(reason: string): VerificationCheck {
  return { name: 'output-probes', passed: false, measured: reason, limit: 'readable media' };
}

/** The failed `source-probes` check: nothing may replace a source that can no longer be read. */
export function unreadableSourceCheck(reason: string): VerificationCheck {
  return { name: 'source-probes', passed: false, measured: reason, limit: 'readable media' };
}

/**
 * The checks answered by probing alone: codec, container, duration, streams with their
 * languages, pixel format, HDR colour tags and the size guard. Pure.
 */
export function probeChecks(
  source: MediaFacts,
  output: MediaFacts,
  sourceSizeBytes: number,
  target: EncodeTarget,
  limits: Required<VerificationLimits>,
  /** The format the encoder wrote when it had to differ from the plan's (encode.completed). */
  writtenPixFmt?: string,
): VerificationCheck[] {
  const codec = output.video?.codec ?? null;
  // The plan's format; events from before plans named one fall back to the source's.
  const expectedPixFmt = writtenPixFmt ?? target.pixFmt ?? source.video?.pixFmt ?? null;
  return [
    { name: 'output-probes', passed: true, measured: 'readable media', limit: 'readable media' },
    {
      name: 'video-codec',
      passed: codec === target.videoCodec,
      measured: codec,
      limit: target.videoCodec,
    },
    {
      name: 'container',
      passed: CONTAINER_FORMATS[target.container].test(output.container),
      measured: output.container,
      limit: target.container,
    },
    durationCheck(source.durationSec, output.durationSec),
    // A plan naming every stream is checked stream by stream; older plans copied everything.
    ...(target.allStreams
      ? streamPlanChecks(source, output, target)
      : [
          streamsCheck('audio-streams', source.audioLanguages, output.audioLanguages),
          streamsCheck('subtitle-streams', source.subtitleLanguages, output.subtitleLanguages),
        ]),
    pixelFormatCheck(output, expectedPixFmt),
    ...(target.frameSize ? [frameSizeCheck(output, target.frameSize)] : []),
    ...(target.deinterlace ? [progressiveCheck(output)] : []),
    ...(target.keepRotation ? [rotationCheck(source, output)] : []),
    hdrCheck(source, output),
    sizeGuardCheck(sourceSizeBytes, output.sizeBytes, limits.maxSizeRatio),
  ];
}

function durationCheck(source: number | null, output: number | null): VerificationCheck {
  // Without a source duration a truncated output could not be told apart, so it cannot pass.
  if (source === null) {
    return {
      name: 'duration',
      passed: false,
      measured: round(output),
      limit: 'source duration unknown',
    };
  }
  const tolerance = durationToleranceSec(source);
  return {
    name: 'duration',
    passed: output !== null && Math.abs(output - source) <= tolerance,
    measured: round(output),
    limit: `${round(source)}±${round(tolerance)}`,
  };
}

/** Every kept stream, in order, with its language: `2 (eng, fra)`. */
function streamsCheck(name: string, source: string[], output: string[]): VerificationCheck {
  const describe = (langs: string[]) =>
    langs.length ? `${langs.length} (${langs.join(', ')})` : '0';
  return {
    name,
    passed: source.length === output.length && source.every((lang, i) => output[i] === lang),
    measured: describe(output),
    limit: describe(source),
  };
}

// Full-range "j" formats are the same layout as their limited-range twins.
function normalPixFmt(pixFmt: string | null): string | null {
  return pixFmt?.replace(/^yuvj/, 'yuv') ?? null;
}

/** The output has the pixel format the plan asked for (chroma and bit depth from the policy). */
function pixelFormatCheck(output: MediaFacts, expected: string | null): VerificationCheck {
  const want = normalPixFmt(expected);
  const got = normalPixFmt(output.video?.pixFmt ?? null);
  return {
    name: 'pixel-format',
    passed: got !== null && (want === null || got === want),
    measured: got,
    limit: want ?? 'any',
  };
}

/** The output frame has exactly the size the plan worked out (even-rounded, downscaled). */
function frameSizeCheck(
  output: MediaFacts,
  want: { width: number; height: number },
): VerificationCheck {
  const got = output.video ? `${output.video.width}x${output.video.height}` : null;
  const limit = `${want.width}x${want.height}`;
  return { name: 'frame-size', passed: got === limit, measured: got, limit };
}

/** The display matrix the plan keeps is on the output, at the source's angle. */
function rotationCheck(source: MediaFacts, output: MediaFacts): VerificationCheck {
  const want = source.video?.rotation ?? null;
  const got = output.video?.rotation ?? null;
  return { name: 'rotation', passed: got === want, measured: got, limit: want };
}

/** A deinterlaced output is progressive: no field order that says the frames are fields. */
function progressiveCheck(output: MediaFacts): VerificationCheck {
  const got = output.video?.fieldOrder ?? null;
  return {
    name: 'field-order',
    passed: got === 'progressive',
    measured: got ?? 'unknown',
    limit: 'progressive',
  };
}

/** An HDR source (PQ or HLG) must keep its primaries, transfer and matrix tags. */
function hdrCheck(source: MediaFacts, output: MediaFacts): VerificationCheck {
  const tags = (v: MediaFacts['video']) =>
    `${v?.colorPrimaries ?? '-'}/${v?.colorTransfer ?? '-'}/${v?.colorSpace ?? '-'}`;
  const sourceHdr = isHdrTransfer(source.video?.colorTransfer);
  if (!sourceHdr) {
    const outputHdr = isHdrTransfer(output.video?.colorTransfer);
    return {
      name: 'hdr-metadata',
      passed: !outputHdr,
      measured: tags(output.video),
      limit: 'SDR source: no HDR transfer',
    };
  }
  const s = source.video;
  const o = output.video;
  return {
    name: 'hdr-metadata',
    passed:
      o?.colorPrimaries === s?.colorPrimaries &&
      o?.colorTransfer === s?.colorTransfer &&
      o?.colorSpace === s?.colorSpace,
    measured: tags(o),
    limit: tags(s),
  };
}

/** The output may be at most `maxRatio` of the source's size; measured as that ratio. */
function sizeGuardCheck(
  sourceBytes: number,
  outputBytes: number,
  maxRatio: number,
): VerificationCheck {
  const ratio = sourceBytes > 0 ? outputBytes / sourceBytes : Number.POSITIVE_INFINITY;
  return {
    name: 'size-guard',
    passed: ratio <= maxRatio,
    measured: Number.isFinite(ratio)
      ? Math.round(ratio * 10_000) / 10_000
      : `${outputBytes} bytes of 0`,
    limit: maxRatio,
  };
}

/** A full decode passes only with no error line and a clean exit. Pure. */
export function decodeCheck(result: DecodeResult): VerificationCheck {
  const passed = result.exitCode === 0 && result.errors.length === 0;
  return {
    name: 'decode',
    passed,
    measured: passed
      ? 'no errors'
      : `${result.errors.length} error(s), exit ${String(result.exitCode)}: ${result.errors[0] ?? ''}`.trim(),
    limit: 'no errors',
  };
}

/** The lowest SSIM of the sampled segments against the floor. Pure. */
export function ssimCheck(samples: SsimSample[], floor: number): VerificationCheck {
  if (samples.length === 0) {
    return { name: 'ssim', passed: false, measured: 'no segment measured', limit: floor };
  }
  const worst = samples.reduce((a, b) => (b.ssim < a.ssim ? b : a));
  return {
    name: 'ssim',
    passed: worst.ssim >= floor,
    measured: Math.round(worst.ssim * 10_000) / 10_000,
    limit: floor,
  };
}

/** True when every check passed; the expensive passes only run then. */
export function allPassed(checks: VerificationCheck[]): boolean {
  return checks.every((c) => c.passed);
}

/**
 * The verdict for one completed encode from its checks. Pure. It carries the plan's policy
 * version, so a failed size guard tells the planner not to try this file again under it.
 */
export function verificationEvent(
  completed: EncodeCompletedData,
  checks: VerificationCheck[],
  /** How the output was decoded and what SSIM sampled, recorded when those passes ran. */
  passes: { decode?: VerificationDecode; ssimSegments?: SsimSample[] } = {},
): DomainEvent {
  const { library, path, source, target, outputPath, policyVersion } = completed;
  const data = {
    library,
    path,
    source,
    target,
    outputPath,
    checks,
    ...(policyVersion !== undefined ? { policyVersion } : {}),
    ...(passes.decode ? { decode: passes.decode } : {}),
    ...(passes.ssimSegments?.length
      ? {
          ssimSegments: passes.ssimSegments.map((s) => ({
            startSec: s.startSec,
            lengthSec: s.lengthSec,
            ssim: Math.round(s.ssim * 10_000) / 10_000,
          })),
        }
      : {}),
  };
  return allPassed(checks) ? { type: 'verify.passed', data } : { type: 'verify.failed', data };
}

/** True when a verdict failed on the size guard: the file must not be planned again under its policy. */
export function failedSizeGuard(checks: VerificationCheck[]): boolean {
  return checks.some((c) => c.name === 'size-guard' && !c.passed);
}

function round(n: number | null): number | null {
  return n === null ? null : Math.round(n * 1000) / 1000;
}
