import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool } from './tool.js';
import { decodePass, decodeResultOf, type DecodeResult } from './decode.js';
import { DECODE_PASS_HEAD } from './device.js';
import { VerifierError } from './errors.js';
import type { Segment, SsimSample } from './passes.js';

// The software decode pass and the SSIM segments in one ffmpeg run: the output is decoded once,
// every frame to the null muxer (the integrity decode and its frame count), and the frames of
// each sampled segment are also compared with the source's, which a `movie` source filter per
// segment decodes from just before the segment. Before this, each segment was a process of its
// own that decoded those output frames a second time, after its own start-up.

/**
 * Escapes a value for a filter option inside a filtergraph (ffmpeg's two levels of quoting: the
 * option parser's `\ ' :` and then the graph parser's `\ ' [ ] , ;`), so a library path such
 * as `Film: Part 1, [1080p].mkv` reaches the filter as written. Pure.
 */
export function filterValue(value: string): string {
  const option = value.replace(/[\\':]/g, '\\$&');
  return option.replace(/[\\'[\],;]/g, '\\$&');
}

/** How each segment is found in both files, on the timelines the one-pass graph uses. */
export interface OnePassTimes {
  /**
   * Where the source's video starts on its own timestamps (the `movie` filter reads them
   * unshifted): a segment at `s` is the source's frames from `sourceOriginSec + s`.
   */
  sourceOriginSec: number;
  /** The output's video start past its file start (the `-i` input counts from the latter). */
  outputOffsetSec: number;
  /** The source's video start past its file start (where `movie` seeks from). */
  sourceOffsetSec: number;
  /**
   * How far before a segment `movie` seeks: 0 where a seek lands on the keyframe at or before
   * it; in MPEG-TS, which lands on the nearest packet, to before the keyframe the segment
   * starts just past (`SEEK_PAST_KEYFRAME_SEC` + 0.1 s).
   */
  seekBackSec?: number;
}

/**
 * The filtergraph of the one-pass run: the output's main video split into the whole (`[all]`,
 * to the null muxer) and one trimmed copy per segment, each compared by `ssim` with the source's
 * same stretch (deinterlaced the same way when the plan deinterlaces, the output scaled to it as
 * decoded) and written per frame to its stats file; for one range of the output, only the
 * frames from `startPts` (inclusive) to `endPts` (exclusive) are passed on. Pure.
 */
export function onePassGraph(
  sourcePath: string,
  segments: Segment[],
  times: OnePassTimes,
  statsPaths: string[],
  deinterlace: { parity: string } | null = null,
  frames: { startPts: number | null; endPts: number | null } = { startPts: null, endPts: null },
): string {
  const n = segments.length;
  const copies = segments.map((_, i) => `[v${i}]`).join('');
  // A range of the output (ranges.ts): only its frames, by timestamp, go on (and are counted).
  const bounds = [
    ...(frames.startPts !== null ? [`start=${frames.startPts}`] : []),
    ...(frames.endPts !== null ? [`end=${frames.endPts}`] : []),
  ];
  const trim = bounds.length ? `trim=${bounds.join(':')},` : '';
  const parts = [`[0:v:0]${trim}split=${n + 1}[all]${copies}`];
  segments.forEach((segment, i) => {
    const outputStart = round6(segment.startSec + times.outputOffsetSec);
    const sourceSeek = round6(
      Math.max(0, segment.startSec + times.sourceOffsetSec - (times.seekBackSec ?? 0)),
    );
    const sourceStart = round6(segment.startSec + times.sourceOriginSec);
    const bwdif = deinterlace
      ? `,bwdif=mode=send_frame:parity=${deinterlace.parity}:deint=all`
      : '';
    // movie seeks to the keyframe at or before its seek point; trim drops the frames before
    // the segment, as `-ss` does on an input.
    const movie =
      `movie=filename=${filterValue(sourcePath)}:seek_point=${sourceSeek}:dec_threads=1:` +
      `streams=${filterValue('v:0')}`;
    parts.push(
      `[v${i}]trim=start=${outputStart}:duration=${segment.lengthSec},setpts=PTS-STARTPTS[o${i}]`,
      `${movie},trim=start=${sourceStart}:duration=${segment.lengthSec}${bwdif},` +
        `setpts=PTS-STARTPTS[s${i}]`,
      `[o${i}][s${i}]scale2ref[so${i}][ss${i}]`,
      `[so${i}][ss${i}]ssim=stats_file=${filterValue(statsPaths[i] ?? '')},nullsink`,
    );
  });
  return parts.join(';');
}

/**
 * The one-pass ffmpeg arguments: the decode pass's ({@link decodePassArgs} in software, frame
 * threads and `-progress` frame count) with the segments' comparison added. Pure.
 */
export function onePassArgs(
  outputPath: string,
  sourcePath: string,
  segments: Segment[],
  times: OnePassTimes,
  statsPaths: string[],
  deinterlace: { parity: string } | null = null,
): string[] {
  return [
    ...DECODE_PASS_HEAD,
    '-threads',
    '0',
    '-i',
    outputPath,
    '-filter_complex',
    onePassGraph(sourcePath, segments, times, statsPaths, deinterlace),
    '-map',
    '[all]',
    '-map',
    '0:a?',
    '-f',
    'null',
    '-',
  ];
}

/**
 * The mean of the `All:` figures of an ssim stats file (one line per frame compared), which is
 * the figure ffmpeg's own summary prints; null when no frame was compared. Pure.
 */
export function meanSsimOfStats(text: string): number | null {
  const values = [...text.matchAll(/\bAll:([0-9.]+)/g)].map((m) => Number(m[1]));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v))) return null;
  // Six decimals, as ffmpeg prints its summary.
  return Math.round((values.reduce((a, b) => a + b, 0) / values.length) * 1e6) / 1e6;
}

/** What the one-pass run measured: the decode pass's result and, per segment, its SSIM. */
export interface OnePassResult {
  result: DecodeResult;
  /** One per segment, null where no frame was compared (a cut-off output never got there). */
  ssim: (number | null)[];
  /**
   * True when the run reported errors but the output decoded alone reported none: they came
   * from the source's segments, which the decode check does not hold against the output.
   */
  errorsFromSource: boolean;
}

/**
 * Decodes the output once in software, every frame, measuring SSIM on the segments as it goes.
 * Errors in the run may come from the source's segments as well as from the output; so when
 * there are any, the output is decoded again alone and that result stands (an intact output
 * then passes, whatever the source's sampled stretches logged).
 */
export async function decodeWithSsim(
  outputPath: string,
  sourcePath: string,
  segments: Segment[],
  times: OnePassTimes,
  opts: { signal?: AbortSignal; deinterlace?: { parity: string } | null } = {},
): Promise<OnePassResult> {
  const dir = await mkdtemp(join(tmpdir(), 'conform-verify-'));
  try {
    const stats = segments.map((_, i) => join(dir, `ssim-${i}.log`));
    const run = await runTool(
      'ffmpeg',
      onePassArgs(outputPath, sourcePath, segments, times, stats, opts.deinterlace ?? null),
      opts,
    );
    const ssim = await Promise.all(
      stats.map((p) => readFile(p, 'utf8').then(meanSsimOfStats, () => null)),
    );
    const result = decodeResultOf(run);
    if (result.exitCode === 0 && result.errors.length === 0) {
      return { result, ssim, errorsFromSource: false };
    }
    const alone = await decodePass(outputPath, { ...opts, device: 'software' });
    const clean = alone.exitCode === 0 && alone.errors.length === 0;
    return { result: alone, ssim, errorsFromSource: clean };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The segments' samples, or the error naming the first segment ffmpeg compared no frame of. */
export function samplesOf(
  outputPath: string,
  segments: Segment[],
  ssim: (number | null)[],
): SsimSample[] {
  return segments.map((segment, i) => {
    const value = ssim[i];
    if (value === null || value === undefined) {
      throw new VerifierError(
        'SSIM_UNMEASURED',
        `ffmpeg compared no frame of ${outputPath} with the source at ${segment.startSec}s`,
      );
    }
    return { ...segment, ssim: value };
  });
}

function round6(n: number): number {
  return Math.round(n * 1_000_000) / 1_000_000;
}
