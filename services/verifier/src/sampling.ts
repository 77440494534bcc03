import { runTool } from './tool.js';
import type { MediaFacts } from './facts.js';
import type { Segment, VideoOffsets } from './passes.js';

// Where SSIM is measured: a few short segments spread over the film, each moved to start just
// past a keyframe of both files so that nothing is decoded twice or for nothing.

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
 * How far past a keyframe a segment starts. ffmpeg seeks formats that index by decode time
 * (Matroska, MPEG-TS) 3/23 s (0.13 s) before the asked time when the video has B-frames; a
 * segment starting any nearer its keyframe seeks back a whole GOP and decodes it for nothing.
 */
export const SEEK_PAST_KEYFRAME_SEC = 0.14;

/**
 * Moves each segment to start just after a keyframe, so neither file decodes frames it then
 * throws away: the later of the two files' keyframes at or before the wanted start (the other
 * file decodes only the gap between them), plus {@link SEEK_PAST_KEYFRAME_SEC}. Segments that
 * overlap one already chosen are measured once; unknown keyframes leave a segment where it
 * was. Pure.
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
        : round3(Math.max(...keys) + SEEK_PAST_KEYFRAME_SEC);
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
}

/**
 * The keyframe at or before each time in `points`, from one ffprobe that seeks to each and
 * reads a single video packet: the packet a seek lands on. Times are on the video's own
 * timeline (0 = its first frame), `originSec` being the video stream's start time. Null where
 * ffprobe found none; all null when it could not be read (the segments then stay put).
 */
export async function keyframesBefore(
  path: string,
  points: number[],
  originSec: number,
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
      // ffprobe seeks to absolute timestamps.
      '-read_intervals',
      points.map((p) => `${round6(p + originSec)}%+#1`).join(','),
      '-show_entries',
      'packet=pts_time,flags',
      '-of',
      'json',
      path,
    ],
    opts,
  );
  if (result.exitCode !== 0) return none;
  return keyframesFromProbe(result.stdout, points.length, originSec);
}

/** The keyframe times in one read-intervals probe, on the video's own timeline. Pure. */
export function keyframesFromProbe(
  stdout: string,
  count: number,
  originSec: number,
): (number | null)[] {
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
  return packets.map((p) => {
    const t = Number(p.pts_time);
    return p.flags?.startsWith('K') && Number.isFinite(t) ? round6(t - originSec) : null;
  });
}

/** Where a file's video starts on its own timeline (the stream's start, else the file's). */
function videoOrigin(facts: MediaFacts): number {
  return facts.video?.startSec ?? facts.startSec;
}

/**
 * The segments SSIM measures on this pair and how each file is sought to them: the wanted
 * segments moved to keyframes found by one ffprobe per file (run beside other work: they only
 * read a few packets).
 */
export async function planSegments(
  sourcePath: string,
  outputPath: string,
  source: MediaFacts,
  output: MediaFacts,
  opts: { signal?: AbortSignal } = {},
): Promise<{ segments: Segment[]; offsets: VideoOffsets }> {
  const wanted = ssimSegments(source.durationSec ?? 0);
  const points = wanted.map((s) => s.startSec);
  const offsets = {
    sourceSec: videoOrigin(source) - source.startSec,
    outputSec: videoOrigin(output) - output.startSec,
  };
  if (!points.some((p) => p > 0)) return { segments: wanted, offsets };
  const [sourceKeys, outputKeys] = await Promise.all([
    keyframesBefore(sourcePath, points, videoOrigin(source), opts),
    keyframesBefore(outputPath, points, videoOrigin(output), opts),
  ]);
  return { segments: alignSegments(wanted, sourceKeys, outputKeys), offsets };
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function round6(n: number): number {
  return Math.round(n * 1_000_000) / 1_000_000;
}
