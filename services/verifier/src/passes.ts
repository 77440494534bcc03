import { runTool } from './tool.js';
import { VerifierError } from './errors.js';

/** A stretch of the file compared frame by frame against the source. */
export interface Segment {
  startSec: number;
  lengthSec: number;
}

/** What a full decode of the output reported. */
export interface DecodeResult {
  exitCode: number | null;
  /** ffmpeg's error lines (`-v error`); an intact file decodes with none. */
  errors: string[];
}

/** Mean SSIM of one sampled segment. */
export interface SsimSample extends Segment {
  ssim: number;
}

/**
 * The segments the SSIM check samples: `count` stretches of `lengthSec`, spread evenly away from
 * the very start and end (intros and credits are the least telling). A file too short for that
 * is compared whole. Pure.
 */
export function ssimSegments(durationSec: number, count = 3, lengthSec = 2): Segment[] {
  if (durationSec <= count * lengthSec * 2) {
    return [{ startSec: 0, lengthSec: durationSec }];
  }
  const segments: Segment[] = [];
  for (let i = 1; i <= count; i++) {
    const centre = (durationSec * i) / (count + 1);
    segments.push({ startSec: round3(centre - lengthSec / 2), lengthSec });
  }
  return segments;
}

/** The `All:` figure of the ssim filter's summary line, or null if ffmpeg printed none. Pure. */
export function parseSsim(stderr: string): number | null {
  const match = /SSIM Y:[^\n]*All:([0-9.]+)/.exec(stderr);
  if (!match?.[1]) return null;
  const value = Number(match[1]);
  return Number.isFinite(value) ? value : null;
}

/** Decodes the main video and every audio stream of `path` to nothing, collecting errors. */
export async function decodePass(
  path: string,
  opts: { signal?: AbortSignal } = {},
): Promise<DecodeResult> {
  const result = await runTool(
    'ffmpeg',
    [
      '-hide_banner',
      '-nostdin',
      '-v',
      'error',
      '-i',
      path,
      '-map',
      '0:v:0',
      '-map',
      '0:a?',
      '-f',
      'null',
      '-',
    ],
    opts,
  );
  const errors = result.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return { exitCode: result.exitCode, errors };
}

/**
 * Mean SSIM of the output against the source over one segment, the output scaled to the
 * source as decoded.
 */
export async function measureSsim(
  sourcePath: string,
  outputPath: string,
  segment: Segment,
  opts: { signal?: AbortSignal; deinterlace?: { parity: string } | null } = {},
): Promise<SsimSample> {
  const seek = ['-ss', String(segment.startSec), '-t', String(segment.lengthSec)];
  // A deinterlaced output is compared with the source deinterlaced the same way, not its fields.
  const sourceFilter = opts.deinterlace
    ? `bwdif=mode=send_frame:parity=${opts.deinterlace.parity}:deint=all,`
    : '';
  // The output is scaled to the source as decoded (scale2ref): a resized or rotated encode is
  // still compared pixel for pixel, whichever way the display matrix turns both.
  const filter =
    `[1:v:0]${sourceFilter}setpts=PTS-STARTPTS[s0];[0:v:0]setpts=PTS-STARTPTS[o0];` +
    `[o0][s0]scale2ref[o][s];[o][s]ssim`;
  const result = await runTool(
    'ffmpeg',
    [
      '-hide_banner',
      '-nostdin',
      ...seek,
      '-i',
      outputPath,
      ...seek,
      '-i',
      sourcePath,
      '-filter_complex',
      filter,
      '-an',
      '-f',
      'null',
      '-',
    ],
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

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
