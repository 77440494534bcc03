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

/** How many stretches SSIM samples, and how long each is (documented in the README). */
export const SSIM_SAMPLES = { count: 4, lengthSec: 1 } as const;

/**
 * The segments the SSIM check samples: `count` stretches of `lengthSec`, spread evenly away from
 * the very start and end (intros and credits are the least telling). A file too short for that
 * is compared whole. Pure.
 */
export function ssimSegments(
  durationSec: number,
  count: number = SSIM_SAMPLES.count,
  lengthSec: number = SSIM_SAMPLES.lengthSec,
): Segment[] {
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

/**
 * Moves each segment to start just after a keyframe, so neither file decodes frames it then
 * throws away: the later of the two files' keyframes at or before the wanted start (the other
 * file decodes only the gap between them). Seeking lands a millisecond past that keyframe, as a
 * timestamp rounded below it would seek back a whole GOP. Segments that land on the same
 * keyframe (or overlap one already chosen) are measured once; unknown keyframes leave a segment where it was. Pure.
 */
export function alignSegments(
  wanted: Segment[],
  sourceKeys: (number | null)[],
  outputKeys: (number | null)[],
): Segment[] {
  const out: Segment[] = [];
  wanted.forEach((segment, i) => {
    const keys = [sourceKeys[i], outputKeys[i]].filter(
      (k): k is number => k !== null && k !== undefined && k >= 0 && k <= segment.startSec,
    );
    const startSec =
      segment.startSec === 0 || keys.length === 0
        ? segment.startSec
        : round3(Math.max(...keys) + 0.001);
    // Overlapping a segment already chosen: the same frames would be measured twice.
    if (
      out.some((o) => Math.abs(startSec - o.startSec) < Math.min(o.lengthSec, segment.lengthSec))
    ) {
      return;
    }
    out.push({ startSec, lengthSec: segment.lengthSec });
  });
  return out;
}

/** The parts of ffprobe's JSON that {@link keyframesBefore} reads. */
interface KeyframeProbe {
  packets?: { pts_time?: string; flags?: string }[];
  format?: { start_time?: string };
}

/**
 * The keyframe at or before each time in `points` (seconds from the file's start), from one
 * ffprobe that seeks to each and reads a single video packet: the packet a seek lands on.
 * Null where ffprobe found none; all null when it could not be read (the segments stay put).
 */
export async function keyframesBefore(
  path: string,
  points: number[],
  opts: { signal?: AbortSignal } = {},
): Promise<(number | null)[]> {
  const none = points.map(() => null);
  if (points.length === 0) return none;
  const result = await runTool(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-read_intervals',
      points.map((p) => `${p}%+#1`).join(','),
      '-show_entries',
      'packet=pts_time,flags:format=start_time',
      '-of',
      'json',
      path,
    ],
    opts,
  );
  if (result.exitCode !== 0) return none;
  return keyframesFromProbe(result.stdout, points.length);
}

/** The keyframe times in one read-intervals probe, relative to the file's start. Pure. */
export function keyframesFromProbe(stdout: string, count: number): (number | null)[] {
  const none: (number | null)[] = Array.from({ length: count }, () => null);
  let json: KeyframeProbe;
  try {
    json = JSON.parse(stdout) as KeyframeProbe;
  } catch {
    return none;
  }
  const packets = json.packets ?? [];
  // One packet per interval; anything else cannot be lined up with the points.
  if (packets.length !== count) return none;
  const start = Number(json.format?.start_time ?? 0) || 0;
  return packets.map((p) => {
    const t = Number(p.pts_time);
    return p.flags?.startsWith('K') && Number.isFinite(t) ? round6(t - start) : null;
  });
}

/** The `All:` figure of the ssim filter's summary line, or null if ffmpeg printed none. Pure. */
export function parseSsim(stderr: string): number | null {
  const match = /SSIM Y:[^\n]*All:([0-9.]+)/.exec(stderr);
  if (!match?.[1]) return null;
  const value = Number(match[1]);
  return Number.isFinite(value) ? value : null;
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

function round6(n: number): number {
  return Math.round(n * 1_000_000) / 1_000_000;
}
