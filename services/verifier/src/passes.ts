import { runTool } from './tool.js';
import { VerifierError } from './errors.js';

/** A stretch of the file compared frame by frame against the source. */
export interface Segment {
  startSec: number;
  lengthSec: number;
}

/** Mean SSIM of one sampled segment. */
export interface SsimSample extends Segment {
  ssim: number;
}

/** The `All:` figure of the ssim filter's summary line, or null if ffmpeg printed none. Pure. */
export function parseSsim(stderr: string): number | null {
  const match = /SSIM Y:[^\n]*All:([0-9.]+)/.exec(stderr);
  if (!match?.[1]) return null;
  const value = Number(match[1]);
  return Number.isFinite(value) ? value : null;
}

/**
 * Where each file's video starts after the file's own start (ffmpeg's `-ss` counts from the
 * latter): an mkv whose video begins 23 ms in is sought 23 ms later, so that both files'
 * segments begin with the same picture.
 */
export interface VideoOffsets {
  sourceSec: number;
  outputSec: number;
  /**
   * How far before its segment a file is sought, its frames up to the segment then dropped: 0
   * (absent) where a seek lands on the keyframe at or before the asked time; in MPEG-TS, which
   * lands on the nearest packet, to before the keyframe the segment starts just past.
   */
  sourceSeekBackSec?: number;
  outputSeekBackSec?: number;
}

/**
 * The ffmpeg arguments measuring one segment: both files sought to the same picture (a
 * segment at 0 is read from the start), the output scaled to the source as decoded. Pure.
 */
export function ssimArgs(
  sourcePath: string,
  outputPath: string,
  segment: Segment,
  offsets: VideoOffsets = { sourceSec: 0, outputSec: 0 },
  deinterlace: { parity: string } | null = null,
): string[] {
  // A file sought `back` early is cut to the segment by the graph's trim rather than by `-t`,
  // which counts from the first frame decoded, before the segment. It is always sought, if only
  // to just past its start: an MPEG-TS input read from its start (or `-ss 0`) has its video
  // moved to 0 rather than to its offset past the file's start, which every seek keeps.
  const backOf = (offsetSec: number, backSec = 0) =>
    segment.startSec > 0 && backSec > 0
      ? round6(Math.max(0, Math.min(backSec, segment.startSec + offsetSec - MIN_SEEK_SEC)))
      : 0;
  const seek = (offsetSec: number, back: number) => [
    ...(segment.startSec > 0 ? ['-ss', String(round6(segment.startSec + offsetSec - back))] : []),
    ...(back > 0 ? [] : ['-t', String(segment.lengthSec)]),
  ];
  const outputBack = backOf(offsets.outputSec, offsets.outputSeekBackSec);
  const sourceBack = backOf(offsets.sourceSec, offsets.sourceSeekBackSec);
  const drop = (back: number) =>
    back > 0 ? `trim=start=${back}:duration=${segment.lengthSec},` : '';
  // A deinterlaced output is compared with the source deinterlaced the same way, not its fields.
  const sourceFilter = deinterlace
    ? `bwdif=mode=send_frame:parity=${deinterlace.parity}:deint=all,`
    : '';
  // The output is scaled to the source as decoded (scale2ref): a resized or rotated encode is
  // still compared pixel for pixel, whichever way the display matrix turns both.
  const filter =
    `[1:v:0]${drop(sourceBack)}${sourceFilter}setpts=PTS-STARTPTS[s0];` +
    `[0:v:0]${drop(outputBack)}setpts=PTS-STARTPTS[o0];` +
    `[o0][s0]scale2ref[o][s];[o][s]ssim`;
  return [
    '-hide_banner',
    '-nostdin',
    ...seek(offsets.outputSec, outputBack),
    '-i',
    outputPath,
    ...seek(offsets.sourceSec, sourceBack),
    '-i',
    sourcePath,
    '-filter_complex',
    filter,
    '-an',
    '-f',
    'null',
    '-',
  ];
}

/** Mean SSIM of the output against the source over one segment ({@link ssimArgs}). */
export async function measureSsim(
  sourcePath: string,
  outputPath: string,
  segment: Segment,
  opts: {
    signal?: AbortSignal;
    deinterlace?: { parity: string } | null;
    offsets?: VideoOffsets;
  } = {},
): Promise<SsimSample> {
  const result = await runTool(
    'ffmpeg',
    ssimArgs(sourcePath, outputPath, segment, opts.offsets, opts.deinterlace ?? null),
    opts,
  );
  const ssim = parseSsim(result.stderr);
  if (ssim === null) {
    throw new VerifierError(
      'SSIM_UNMEASURED',
      `ffmpeg measured no SSIM for ${outputPath} at ${segment.startSec}s ` +
        `(exit ${String(result.exitCode)}): ${result.stderr.trim().split('\n').at(-1) ?? ''}`,
    );
  }
  return { ...segment, ssim };
}

// The earliest seek of a file sought back (see ssimArgs).
const MIN_SEEK_SEC = 0.001;

function round6(n: number): number {
  return Math.round(n * 1_000_000) / 1_000_000;
}
