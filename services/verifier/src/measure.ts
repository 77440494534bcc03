// The expensive checks — the full decode, the frame count and SSIM — on one of two paths: in
// software the output is decoded once for all three, split into ranges decoded at once where
// its keyframes allow (ranges.ts), else in one ffmpeg run; on a GPU the device decodes while
// SSIM, always computed in software, runs beside it in processes of its own.
// One job, kept whole: both paths hold the output to the same checks, and the one run is the
// fallback of the ranges.
import type {
  EncodeCompletedData,
  VerificationCheck,
  VerificationDecode,
} from '@conform/contracts';
import { fullDecode } from './decode.js';
import type { MediaFacts } from './facts.js';
import { countVideoPackets, frameCountCheck } from './frames.js';
import { decodeWithSsim, samplesOf } from './onepass.js';
import { measureSsim, type Segment, type SsimSample, type VideoOffsets } from './passes.js';
import {
  UNINDEXED_SEEK_BACK_SEC,
  planSegments,
  planSourceSegments,
  seeksToAnyPacket,
  ssimSegments,
  videoOffset,
  videoOrigin,
} from './sampling.js';
import { decodeCheck, ssimCheck } from './decide.js';
import {
  decodeInRanges,
  defaultDecodeRanges,
  splitKeyframes,
  splitRanges,
  type DecodeRange,
} from './ranges.js';

/** What the expensive passes found: their checks, the decode path and the segments measured. */
export interface Measured {
  checks: VerificationCheck[];
  decode: VerificationDecode;
  /** Absent when the decode or the frame count failed (SSIM is then not looked at). */
  ssimSegments?: SsimSample[];
}

/**
 * True when one software run can decode the output and compare the segments: the source's
 * segments are read by the `movie` filter, which does not turn frames by a display matrix as
 * an `-i` input does, so a rotated source is compared by the separate runs. Pure.
 */
export function onePassFits(choice: VerificationDecode, source: MediaFacts): boolean {
  const rotation = source.video?.rotation ?? null;
  return choice.device === 'software' && (rotation === null || Math.abs(rotation) < 0.5);
}

/** Options of {@link measureOutput}. */
export interface MeasureOptions {
  signal?: AbortSignal;
  /** How many ranges a software decode pass may be split into (default: one per core). */
  decodeRanges?: number;
  /** The source's keyframes before the wanted segments, when that probe already started. */
  sourceKeys?: Promise<(number | null)[]>;
  /** The source's video packets from its first keyframe on, when that count already started. */
  packets?: Promise<number | null>;
  /** The output's keyframes near the range boundaries, when its facts probe read them. */
  outputKeys?: number[];
}

/**
 * How many ranges a one-pass decode of this source's output is split into: one per core (or
 * as asked), or one for a file compared whole by SSIM (8 s or less), which has no boundary
 * outside its one segment. Pure.
 */
export function decodeRangeCount(
  source: Pick<MediaFacts, 'durationSec'>,
  decodeRanges?: number,
): number {
  const sampled = ssimSegments(source.durationSec ?? 0).some((s) => s.startSec > 0);
  return sampled ? (decodeRanges ?? defaultDecodeRanges()) : 1;
}

/**
 * The decode, frame-count and SSIM checks of an output whose probe checks passed. The source's
 * packet count (a demux, no decode) runs beside the decode either way.
 */
export async function measureOutput(
  completed: EncodeCompletedData,
  source: MediaFacts,
  output: MediaFacts,
  choice: VerificationDecode,
  ssimFloor: number,
  opts: MeasureOptions = {},
): Promise<Measured> {
  const packets = opts.packets ?? countVideoPackets(completed.path, opts);
  // Settled here so that an early throw below leaves no unhandled rejection behind.
  packets.catch(() => undefined);
  if (onePassFits(choice, source)) {
    return onePass(completed, source, output, choice, packets, ssimFloor, opts);
  }
  return separate(completed, source, output, choice, packets, ssimFloor, opts);
}

async function onePass(
  completed: EncodeCompletedData,
  source: MediaFacts,
  output: MediaFacts,
  choice: VerificationDecode,
  packets: Promise<number | null>,
  ssimFloor: number,
  opts: MeasureOptions,
): Promise<Measured> {
  const count = decodeRangeCount(source, opts.decodeRanges);
  const [segments, keyframes] = await Promise.all([
    planSourceSegments(completed.path, source, {
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.sourceKeys ? { keys: opts.sourceKeys } : {}),
    }),
    splitKeyframes(completed.outputPath, output, count, {
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.outputKeys ? { listed: opts.outputKeys } : {}),
    }),
  ]);
  const times = {
    sourceOriginSec: videoOrigin(source),
    sourceOffsetSec: videoOffset(source),
    outputOffsetSec: videoOffset(output),
    seekBackSec: seeksToAnyPacket(source.container) ? UNINDEXED_SEEK_BACK_SEC : 0,
  };
  const deinterlaced = !!completed.target.deinterlace;
  const deinterlace = completed.target.deinterlace ?? null;
  const ranges = splitRanges(output.durationSec, keyframes, segments, count);
  let note = '';
  if (ranges.length > 1) {
    // The ranges' runs read the output on its own timestamps, where its video starts at its
    // start time rather than at its offset past the file's.
    const [split, sourcePackets] = await Promise.all([
      decodeInRanges(
        completed.outputPath,
        completed.path,
        output,
        ranges,
        segments,
        { ...times, outputOffsetSec: videoOrigin(output) },
        { ...opts, deinterlace },
      ),
      packets,
    ]);
    const decoded = decodeCheck(split.result);
    const frames = frameCountCheck(sourcePackets, split.result.frames, deinterlaced);
    if (decoded.passed && frames.passed && split.ssim.every((v) => v !== null)) {
      const samples = samplesOf(completed.outputPath, segments, split.ssim);
      return {
        checks: [decoded, frames, ssimCheck(samples, ssimFloor)],
        decode: { ...choice, reason: `${choice.reason}; ${describeRanges(ranges)}` },
        ssimSegments: samples,
      };
    }
    // Only a clean run whose counts add up is taken: anything else is decided by one run.
    const why = !decoded.passed
      ? `reported ${String(decoded.measured)}`
      : !frames.passed
        ? `counted ${String(split.result.frames)} frames`
        : 'compared no frame of a segment';
    note = `; the decode in ${ranges.length} ranges ${why}, so the output was decoded again in one run`;
  }
  const [run, sourcePackets] = await Promise.all([
    decodeWithSsim(completed.outputPath, completed.path, segments, times, {
      ...opts,
      deinterlace,
    }),
    packets,
  ]);
  const reason = `${choice.reason}${note}`;
  const decode: VerificationDecode = run.errorsFromSource
    ? {
        ...choice,
        reason:
          `${reason}; the one-pass run's errors came from the source’s segments ` +
          '(the output decoded alone without any), which were then compared in runs of their own',
      }
    : { ...choice, reason };
  const decoded = decodeCheck(run.result);
  const frames = frameCountCheck(sourcePackets, run.result.frames, deinterlaced);
  if (!decoded.passed || !frames.passed) return { checks: [decoded, frames], decode };
  // A decode error in a source's segment stops the movie filter, and with it the run: those
  // segments are then measured by runs of their own, whose `-i` input decodes past errors.
  const samples = run.errorsFromSource
    ? await measureEach(
        completed,
        segments,
        {
          sourceSec: videoOffset(source),
          outputSec: videoOffset(output),
          ...(seeksToAnyPacket(source.container)
            ? { sourceSeekBackSec: UNINDEXED_SEEK_BACK_SEC }
            : {}),
        },
        opts,
      )
    : samplesOf(completed.outputPath, segments, run.ssim);
  return {
    checks: [decoded, frames, ssimCheck(samples, ssimFloor)],
    decode,
    ssimSegments: samples,
  };
}

/** How the decode pass was split, for the verdict's `decode.reason`. Pure. */
export function describeRanges(ranges: DecodeRange[]): string {
  const starts = ranges.map((r) => `${r.fromSec} s`).join(', ');
  return `decoded in ${ranges.length} ranges at once, from ${starts}`;
}

async function separate(
  completed: EncodeCompletedData,
  source: MediaFacts,
  output: MediaFacts,
  choice: VerificationDecode,
  packets: Promise<number | null>,
  ssimFloor: number,
  opts: MeasureOptions,
): Promise<Measured> {
  // SSIM runs beside the decode pass: on a GPU the two use different hardware. It only counts
  // once the decode and frame count passed; when they fail it is stopped and its result (a
  // cut-off file may have no frames to compare) is not looked at.
  const sampling = new AbortController();
  const stop = () => sampling.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', stop, { once: true });
  const ssimRun = sampleSsim(completed, source, output, sampling.signal, opts.sourceKeys).then(
    (samples) => ({ ok: true as const, samples }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  try {
    const [{ result, decode }, sourcePackets] = await Promise.all([
      fullDecode(completed.outputPath, choice, opts),
      packets,
    ]);
    // Both are recorded: a cut-off file can decode cleanly as far as it goes, or not at all.
    const decoded = decodeCheck(result);
    const frames = frameCountCheck(sourcePackets, result.frames, !!completed.target.deinterlace);
    if (!decoded.passed || !frames.passed) {
      sampling.abort(new Error('decode or frame count failed'));
      await ssimRun;
      return { checks: [decoded, frames], decode };
    }
    const ssim = await ssimRun;
    if (!ssim.ok) throw ssim.error;
    return {
      checks: [decoded, frames, ssimCheck(ssim.samples, ssimFloor)],
      decode,
      ssimSegments: ssim.samples,
    };
  } finally {
    opts.signal?.removeEventListener('abort', stop);
    sampling.abort();
    await ssimRun;
  }
}

/** SSIM on these segments, one after the other (each is short), each its own run. */
async function measureEach(
  completed: EncodeCompletedData,
  segments: Segment[],
  offsets: VideoOffsets,
  opts: { signal?: AbortSignal },
): Promise<SsimSample[]> {
  const samples: SsimSample[] = [];
  for (const segment of segments) {
    samples.push(
      await measureSsim(completed.path, completed.outputPath, segment, {
        ...opts,
        offsets,
        deinterlace: completed.target.deinterlace ?? null,
      }),
    );
  }
  return samples;
}

/** SSIM on the planned segments, one after the other (each is short), each its own run. */
async function sampleSsim(
  completed: EncodeCompletedData,
  source: MediaFacts,
  output: MediaFacts,
  signal: AbortSignal,
  sourceKeys: Promise<(number | null)[]> | undefined,
): Promise<SsimSample[]> {
  const { path, outputPath } = completed;
  const plan = await planSegments(path, outputPath, source, output, {
    signal,
    ...(sourceKeys ? { sourceKeys } : {}),
  });
  return measureEach(completed, plan.segments, plan.offsets, { signal });
}
