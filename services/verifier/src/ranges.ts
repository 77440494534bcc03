// The software decode pass split at the output's keyframes into time ranges that ffmpeg runs
// decode at once, one single-threaded process per core: HEVC's frame threads kept about 1.6 of
// 2 cores busy on a plain decode, and in the one-pass run the source's segments (decoded by the
// `movie` filters) and the SSIM arithmetic ran on ffmpeg's main thread while the output's frame
// threads waited, so a verification used one core. Each range's frames are counted once: every
// process reads the output on its own timestamps (`-copyts`) and passes exactly the frames from
// its start (inclusive) to the next range's start (exclusive) to the count, so the ranges'
// counts add up to the whole file's whatever frame a seek lands on. Anything but a clean run
// whose counts add up to the source's is decoded again in one run, whose verdict stands.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool } from './tool.js';
import { decodeResultOf, type DecodeResult } from './decode.js';
import { DECODE_PASS_HEAD } from './device.js';
import { meanSsimOfStats, onePassGraph, type OnePassTimes } from './onepass.js';
import type { Segment } from './passes.js';
import type { MediaFacts } from './facts.js';
import { SEEK_PAST_KEYFRAME_SEC, seeksToAnyPacket, videoOrigin } from './sampling.js';

/** One range of the output's video: from a keyframe to the next range's, on the video's timeline. */
export interface DecodeRange {
  /** The range's first frame time (0 for the first range; else an output keyframe). */
  fromSec: number;
  /** The next range's start (its frames are not this range's); null for the last range. */
  toSec: number | null;
  /**
   * How far past its keyframe the range is sought: {@link SEEK_PAST_KEYFRAME_SEC}, or half the
   * gap to the next keyframe when that is nearer, so the seek never lands past the range's
   * start (frames it would skip would go uncounted and undecoded). Absent for the first.
   */
  seekPastSec?: number;
}

/** Ranges decoded at once at most: one process per core, and no more than this. */
export const MAX_DECODE_RANGES = 8;

/** How many ranges the decode pass is split into on this machine: one per core (capped). */
export function defaultDecodeRanges(): number {
  return Math.max(1, Math.min(availableParallelism(), MAX_DECODE_RANGES));
}

/**
 * Splits `[0, duration)` at the output keyframes nearest `count` equal parts. A boundary must
 * not fall inside an SSIM segment (each segment is compared within one range) and no range may
 * be shorter than a quarter of an equal part (a process is not worth less); fewer ranges, down
 * to one, when the keyframes do not allow more. Pure.
 */
export function splitRanges(
  durationSec: number | null,
  keyframes: number[],
  segments: Segment[],
  count: number,
): DecodeRange[] {
  const whole: DecodeRange[] = [{ fromSec: 0, toSec: null }];
  if (count < 2 || durationSec === null || !(durationSec > 0)) return whole;
  const part = durationSec / count;
  const minimum = part / 4;
  const usable = [...new Set(keyframes)]
    .filter(
      (k) =>
        k >= minimum &&
        k <= durationSec - minimum &&
        segments.every((s) => k <= s.startSec || k >= s.startSec + s.lengthSec),
    )
    .sort((a, b) => a - b);
  const bounds: number[] = [];
  for (let i = 1; i < count; i++) {
    const last = bounds.at(-1) ?? 0;
    const target = part * i;
    const nearest = usable
      .filter((k) => k - last >= minimum)
      .reduce<number | null>(
        (best, k) => (best === null || Math.abs(k - target) < Math.abs(best - target) ? k : best),
        null,
      );
    if (nearest !== null && !bounds.includes(nearest)) bounds.push(nearest);
  }
  if (bounds.length === 0) return whole;
  const sorted = [...new Set(keyframes)].sort((a, b) => a - b);
  const starts = [0, ...bounds];
  return starts.map((fromSec, i) => {
    const range: DecodeRange = { fromSec, toSec: starts[i + 1] ?? null };
    if (i === 0) return range;
    const next = sorted.find((k) => k > fromSec);
    const past =
      next === undefined
        ? SEEK_PAST_KEYFRAME_SEC
        : Math.min(SEEK_PAST_KEYFRAME_SEC, (next - fromSec) / 2);
    return { ...range, seekPastSec: round6(past) };
  });
}

/**
 * Output codecs whose keyframes (HEVC's IRAP pictures, H.264's IDR) no frame decoded before
 * them follows in display order, which a range starting at one relies on: a frame decoded
 * before the keyframe but shown after it would be in neither range. Others decode in one run.
 */
const SPLIT_CODECS = ['hevc', 'h264'];

/** Whether an output of this codec may be decoded in ranges. Pure. */
export function splitsCodec(codec: string | undefined): boolean {
  return codec !== undefined && SPLIT_CODECS.includes(codec);
}

/** The parts of ffprobe's packet JSON read here. */
interface PacketProbe {
  packets?: { pts_time?: string; flags?: string }[];
}

/** The keyframe times among ffprobe's packets, on the video's own timeline. Pure. */
export function keyframeTimes(stdout: string, originSec: number): number[] {
  let json: PacketProbe;
  try {
    json = JSON.parse(stdout) as PacketProbe;
  } catch {
    return [];
  }
  return (json.packets ?? [])
    .filter((p) => p.flags?.startsWith('K'))
    .map((p) => Math.round((Number(p.pts_time) - originSec) * 1e6) / 1e6)
    .filter((t) => Number.isFinite(t));
}

/**
 * The output keyframes near where the decode pass could be split into `count` ranges: one
 * ffprobe that reads the video packets (a demux, no decode) of a window around each equal
 * part's boundary. Empty when there is nothing to split (one range, an unknown duration, an
 * output that seeks to any packet) or ffprobe cannot read it. `listed`: those keyframes, read
 * already (by the output's facts probe, {@link boundaryWindows}).
 */
export async function splitKeyframes(
  outputPath: string,
  output: MediaFacts,
  count: number,
  opts: { signal?: AbortSignal; listed?: number[] | null } = {},
): Promise<number[]> {
  const duration = output.durationSec;
  if (
    count < 2 ||
    duration === null ||
    !(duration > 0) ||
    seeksToAnyPacket(output.container) ||
    !splitsCodec(output.video?.codec)
  ) {
    return [];
  }
  if (opts.listed) return opts.listed;
  const origin = videoOrigin(output);
  const windows = boundaryWindows(duration, count, origin);
  const result = await runTool(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-read_intervals',
      windows.join(','),
      '-show_entries',
      'packet=pts_time,flags',
      '-of',
      'json',
      outputPath,
    ],
    opts,
  );
  if (result.exitCode !== 0) return [];
  return keyframeTimes(result.stdout, origin);
}

/**
 * The `-read_intervals` windows whose packets hold every keyframe a boundary of `count` equal
 * parts could move to: half a part either side (at most 10 s), and those just past it (where its
 * range's seek must not land), on the file's timestamps (`originSec` being where its video
 * starts), widened by `marginSec` either side. Pure.
 */
export function boundaryWindows(
  durationSec: number,
  count: number,
  originSec: number,
  marginSec = 0,
): string[] {
  const part = durationSec / count;
  const half = Math.min(part / 2, 10);
  return Array.from({ length: count - 1 }, (_, i) => part * (i + 1)).map(
    (at) =>
      `${round6(Math.max(0, at - half - marginSec) + originSec)}%` +
      `${round6(at + half + SEEK_PAST_KEYFRAME_SEC + marginSec + originSec)}`,
  );
}

/** Where each range's process reads the output: its seek and its frames, as ffmpeg sees them. */
export interface RangeWindow {
  /** `-ss` (from the file's start), just past the range's keyframe; null to read from the start. */
  seekSec: number | null;
  /** The range's frames by timestamp, on the output's own timestamps (`-copyts`). */
  startPts: number | null;
  endPts: number | null;
}

/**
 * How one range's process reads the output: sought just past its keyframe (ffmpeg seeks
 * Matroska {@link SEEK_PAST_KEYFRAME_SEC} early, see there; never as far as the next keyframe,
 * so a seek lands on the range's keyframe or an earlier one, which costs time, never a frame,
 * since the frames are chosen by timestamp) and trimmed to its frames on the output's own
 * timestamps. Pure.
 */
export function rangeWindow(range: DecodeRange, output: MediaFacts): RangeWindow {
  const origin = videoOrigin(output);
  const first = range.fromSec > 0;
  return {
    seekSec: first
      ? round6(
          range.fromSec + (range.seekPastSec ?? SEEK_PAST_KEYFRAME_SEC) + origin - output.startSec,
        )
      : null,
    startPts: first ? round6(range.fromSec + origin) : null,
    endPts: range.toSec === null ? null : round6(range.toSec + origin),
  };
}

/** The segments that lie within a range (a boundary never falls inside one). Pure. */
export function segmentsIn(range: DecodeRange, segments: Segment[]): number[] {
  return segments.flatMap((s, i) =>
    s.startSec >= range.fromSec && (range.toSec === null || s.startSec < range.toSec) ? [i] : [],
  );
}

/**
 * One range's ffmpeg arguments: the one-pass run's ({@link onePassGraph}) on the range's frames
 * and segments, in one thread (the ranges are the parallelism), on the output's own timestamps;
 * the last range also decodes every audio stream, from a second reading of the output from its
 * start (a stream of the video's input would keep its video decoding past the range). Pure.
 */
export function rangeArgs(
  outputPath: string,
  sourcePath: string,
  window: RangeWindow,
  segments: Segment[],
  times: OnePassTimes,
  statsPaths: string[],
  audio: boolean,
  deinterlace: { parity: string } | null = null,
): string[] {
  return [
    ...DECODE_PASS_HEAD,
    '-threads',
    '1',
    '-copyts',
    ...(window.seekSec !== null ? ['-noaccurate_seek', '-ss', String(window.seekSec)] : []),
    '-i',
    outputPath,
    ...(audio ? ['-i', outputPath] : []),
    '-filter_complex',
    onePassGraph(sourcePath, segments, times, statsPaths, deinterlace, window),
    '-map',
    '[all]',
    ...(audio ? ['-map', '1:a?'] : []),
    '-f',
    'null',
    '-',
  ];
}

/** What the ranges' runs measured together. */
export interface RangesResult {
  /** Exit 0 when every run exited 0; every run's errors; the frames of all ranges added. */
  result: DecodeResult;
  /** Per segment, in the order given; null where no frame was compared. */
  ssim: (number | null)[];
}

/** Adds up the ranges' decode results: one failed run fails the whole. Pure. */
export function combineResults(results: DecodeResult[]): DecodeResult {
  const frames = results.map((r) => r.frames);
  return {
    exitCode: results.find((r) => r.exitCode !== 0)?.exitCode ?? 0,
    errors: results.flatMap((r) => r.errors),
    frames: frames.some((f) => f === null)
      ? null
      : frames.reduce<number>((a, b) => a + (b ?? 0), 0),
  };
}

/**
 * Decodes the output in `ranges` at once, each range's SSIM segments measured in its run
 * ({@link rangeArgs}). `times.outputOffsetSec` is where the output's video starts on its own
 * timestamps (its `startSec`), since the runs read them unshifted.
 */
export async function decodeInRanges(
  outputPath: string,
  sourcePath: string,
  output: MediaFacts,
  ranges: DecodeRange[],
  segments: Segment[],
  times: OnePassTimes,
  opts: { signal?: AbortSignal; deinterlace?: { parity: string } | null } = {},
): Promise<RangesResult> {
  const dir = await mkdtemp(join(tmpdir(), 'conform-verify-'));
  try {
    const stats = segments.map((_, i) => join(dir, `ssim-${i}.log`));
    const results = await Promise.all(
      ranges.map(async (range, r) => {
        const mine = segmentsIn(range, segments);
        const run = await runTool(
          'ffmpeg',
          rangeArgs(
            outputPath,
            sourcePath,
            rangeWindow(range, output),
            mine.map((i) => segments[i]!),
            times,
            mine.map((i) => stats[i]!),
            r === ranges.length - 1,
            opts.deinterlace ?? null,
          ),
          opts,
        );
        return decodeResultOf(run);
      }),
    );
    const ssim = await Promise.all(
      stats.map((p) => readFile(p, 'utf8').then(meanSsimOfStats, () => null)),
    );
    return { result: combineResults(results), ssim };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function round6(n: number): number {
  return Math.round(n * 1_000_000) / 1_000_000;
}
