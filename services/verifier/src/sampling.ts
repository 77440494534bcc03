// Where SSIM is measured: a few short segments spread over the film, each moved to start just
// past a keyframe of both files so that nothing is decoded twice or for nothing. One job, kept
// whole: the segment placement (pure) and the keyframe reads it needs (MPEG-TS packets, the
// output's keyframes) decide the same thing and are tested together.
import { runTool } from './tool.js';
import type { MediaFacts } from './facts.js';
import { LISTED_KEYFRAMES_MAX_SEC, type VideoPacket } from './frames.js';
import type { Segment, VideoOffsets } from './passes.js';

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
 * The keyframe one segment starts from, given each file's keyframe at or before the wanted
 * start and, where those differ, the later-keyed file's keyframe at or before the earlier one.
 * Starting at the later keyframe makes the other file decode the gap between them for nothing;
 * starting at the earlier one makes the later-keyed file decode from its keyframe before that.
 * The smaller waste wins: a 10 s x265 GOP against a 1 s GOP source starts at the output's
 * keyframe. Null when neither file's keyframe is known. Pure.
 */
export function chooseKeyframe(
  at: { source: number | null; output: number | null },
  laterFileAtEarlier: number | null,
): number | null {
  const { source, output } = at;
  if (source === null || output === null) return source ?? output;
  const lo = Math.min(source, output);
  const hi = Math.max(source, output);
  if (laterFileAtEarlier !== null && lo - laterFileAtEarlier < hi - lo) return lo;
  return hi;
}

/**
 * Moves each segment to start just after its chosen keyframe ({@link chooseKeyframe}), plus
 * {@link SEEK_PAST_KEYFRAME_SEC}, so neither file decodes frames it then throws away. Segments
 * that overlap one already chosen are measured once; an unknown keyframe (or one after the
 * wanted start) leaves a segment where it was. Pure.
 */
export function alignSegments(wanted: Segment[], keys: (number | null)[]): Segment[] {
  const out: Segment[] = [];
  wanted.forEach((segment, i) => {
    const key = keys[i];
    const startSec =
      segment.startSec === 0 ||
      key === null ||
      key === undefined ||
      key < 0 ||
      key > segment.startSec
        ? segment.startSec
        : round3(key + SEEK_PAST_KEYFRAME_SEC);
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
export function videoOrigin(facts: MediaFacts): number {
  return facts.video?.startSec ?? facts.startSec;
}

/**
 * The segments SSIM measures on this pair and how each file is sought to them: the wanted
 * segments moved to keyframes found by one or two ffprobes per file (a few packets each); the
 * source's first is `sourceKeys` when {@link sourceKeyframes} already ran.
 */
export async function planSegments(
  sourcePath: string,
  outputPath: string,
  source: MediaFacts,
  output: MediaFacts,
  opts: { signal?: AbortSignal; sourceKeys?: Promise<(number | null)[]> } = {},
): Promise<{ segments: Segment[]; offsets: VideoOffsets }> {
  const wanted = ssimSegments(source.durationSec ?? 0);
  const points = wanted.map((s) => s.startSec);
  const offsets: VideoOffsets = {
    sourceSec: videoOrigin(source) - source.startSec,
    outputSec: videoOrigin(output) - output.startSec,
  };
  if (!points.some((p) => p > 0)) return { segments: wanted, offsets };
  const origins = { source: videoOrigin(source), output: videoOrigin(output) };
  const paths = { source: sourcePath, output: outputPath };
  const unindexed = {
    source: seeksToAnyPacket(source.container),
    output: seeksToAnyPacket(output.container),
  };
  // In MPEG-TS a seek lands on any packet: its keyframes are read from the packets before.
  const probe = (file: 'source' | 'output', at: number[]) =>
    (unindexed[file] ? keyframesWithin : keyframesBefore)(paths[file], at, origins[file], opts);
  const seekBack = (file: 'source' | 'output') =>
    unindexed[file] ? { [`${file}SeekBackSec`]: UNINDEXED_SEEK_BACK_SEC } : {};
  Object.assign(offsets, seekBack('source'), seekBack('output'));
  const [sourceKeys, outputKeys] = await Promise.all([
    opts.sourceKeys ?? probe('source', points),
    probe('output', points),
  ]);
  // Where the files' keyframes differ: the later-keyed file's keyframe before the earlier one.
  const again = points.map((_, i) => {
    const s = sourceKeys[i] ?? null;
    const o = outputKeys[i] ?? null;
    if (s === null || o === null || s === o) return null;
    return s > o ? { file: 'source' as const, at: o } : { file: 'output' as const, at: s };
  });
  const second = new Map<number, number | null>();
  await Promise.all(
    (['source', 'output'] as const).map(async (file) => {
      const wantedHere = again.flatMap((g, i) => (g?.file === file ? [{ i, at: g.at }] : []));
      if (wantedHere.length === 0) return;
      const found = await probe(
        file,
        wantedHere.map((w) => w.at),
      );
      wantedHere.forEach((w, k) => second.set(w.i, found[k] ?? null));
    }),
  );
  const keys = points.map((_, i) =>
    chooseKeyframe(
      { source: sourceKeys[i] ?? null, output: outputKeys[i] ?? null },
      second.get(i) ?? null,
    ),
  );
  return { segments: alignSegments(wanted, keys), offsets };
}

/**
 * How far before each wanted start a source without a keyframe index is searched for its
 * keyframe: MPEG-TS has none, and a seek there lands on whatever packet is nearest, so the
 * keyframe is found by reading the packets of this window (a demux, no decode).
 */
export const UNINDEXED_KEYFRAME_WINDOW_SEC = 10;

/**
 * How far before a segment a file that seeks to any packet (MPEG-TS) is sought: to before the
 * keyframe the segment starts {@link SEEK_PAST_KEYFRAME_SEC} past, so its decode starts there.
 */
export const UNINDEXED_SEEK_BACK_SEC = SEEK_PAST_KEYFRAME_SEC + 0.1;

/** True for containers that seek to the nearest packet rather than to a keyframe. Pure. */
export function seeksToAnyPacket(container: string): boolean {
  return /(^|,)mpegts(,|$)/.test(container);
}

/**
 * The source's keyframe at or before the start of each wanted SSIM segment
 * ({@link ssimSegments}); empty when the source is compared whole. From `listing`, the
 * source's packets, when given and the source is short enough ({@link listsKeyframes}); else
 * from one ffprobe of a few packets (in MPEG-TS, of the packets of
 * {@link UNINDEXED_KEYFRAME_WINDOW_SEC} before each start). It needs only the source's facts,
 * so the verifier starts it beside the output's probe.
 */
export async function sourceKeyframes(
  sourcePath: string,
  source: MediaFacts,
  opts: { signal?: AbortSignal; listing?: Promise<VideoPacket[] | null> } = {},
): Promise<(number | null)[]> {
  const points = ssimSegments(source.durationSec ?? 0).map((s) => s.startSec);
  if (!points.some((p) => p > 0)) return [];
  const unindexed = seeksToAnyPacket(source.container);
  if (opts.listing && listsKeyframes(source)) {
    const packets = await opts.listing;
    if (packets) {
      const window = unindexed ? UNINDEXED_KEYFRAME_WINDOW_SEC : Infinity;
      return listedKeyframes(packets, points, videoOrigin(source), window);
    }
  }
  return unindexed
    ? keyframesWithin(sourcePath, points, videoOrigin(source), opts)
    : keyframesBefore(sourcePath, points, videoOrigin(source), opts);
}

/** Whether a source's keyframes are read from its packet listing ({@link LISTED_KEYFRAMES_MAX_SEC}). Pure. */
export function listsKeyframes(source: Pick<MediaFacts, 'durationSec'>): boolean {
  return source.durationSec !== null && source.durationSec <= LISTED_KEYFRAMES_MAX_SEC;
}

/**
 * The last keyframe in (point − window, point] of each point, among listed packets whose times
 * are on the file's timestamps (`originSec` being where its video starts). What a seek to each
 * point lands on in a file that indexes every keyframe (window: Infinity), and what
 * {@link keyframesWithin} finds in MPEG-TS. Pure.
 */
export function listedKeyframes(
  packets: VideoPacket[],
  points: number[],
  originSec: number,
  windowSec: number,
): (number | null)[] {
  const keys = packets.flatMap((p) =>
    p.key && p.ptsSec !== null ? [round6(p.ptsSec - originSec)] : [],
  );
  return latestKeyframes(keys, points, windowSec);
}

/**
 * The segments SSIM measures when the output is decoded whole anyway (the one-pass run): only
 * the source decodes anything for nothing, so each segment starts just past the source's
 * keyframe at or before it ({@link sourceKeyframes}, or `keys` when that already ran).
 */
export async function planSourceSegments(
  sourcePath: string,
  source: MediaFacts,
  opts: { signal?: AbortSignal; keys?: Promise<(number | null)[]> } = {},
): Promise<Segment[]> {
  const wanted = ssimSegments(source.durationSec ?? 0);
  if (!wanted.some((s) => s.startSec > 0)) return wanted;
  return alignSegments(wanted, await (opts.keys ?? sourceKeyframes(sourcePath, source, opts)));
}

/**
 * The last keyframe at or before each point within {@link UNINDEXED_KEYFRAME_WINDOW_SEC}, from
 * one ffprobe that reads the video packets of each window. Null where none was found.
 */
export async function keyframesWithin(
  path: string,
  points: number[],
  originSec: number,
  opts: { signal?: AbortSignal } = {},
): Promise<(number | null)[]> {
  const window = UNINDEXED_KEYFRAME_WINDOW_SEC;
  const result = await runTool(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-read_intervals',
      points
        .map((p) => `${round6(Math.max(0, p - window) + originSec)}%${round6(p + originSec)}`)
        .join(','),
      '-show_entries',
      'packet=pts_time,flags',
      '-of',
      'json',
      path,
    ],
    opts,
  );
  if (result.exitCode !== 0) return points.map(() => null);
  return lastKeyframes(result.stdout, points, originSec, window);
}

/** The last keyframe in (point − window, point] of each point, from ffprobe's packets. Pure. */
export function lastKeyframes(
  stdout: string,
  points: number[],
  originSec: number,
  windowSec: number,
): (number | null)[] {
  let json: KeyframeProbe;
  try {
    json = JSON.parse(stdout) as KeyframeProbe;
  } catch {
    return points.map(() => null);
  }
  const keys = (json.packets ?? [])
    .filter((p) => p.flags?.startsWith('K'))
    .map((p) => round6(Number(p.pts_time) - originSec))
    .filter((t) => Number.isFinite(t));
  return latestKeyframes(keys, points, windowSec);
}

/** The latest of `keys` in (point − window, point] of each point; null where none is. Pure. */
function latestKeyframes(keys: number[], points: number[], windowSec: number): (number | null)[] {
  return points.map((p) => {
    const before = keys.filter((k) => k <= p + 1e-6 && k > p - windowSec);
    return before.length ? Math.max(...before) : null;
  });
}

/** Where a file's video starts after the file's own start (what `-ss` must add). */
export function videoOffset(facts: MediaFacts): number {
  return videoOrigin(facts) - facts.startSec;
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function round6(n: number): number {
  return Math.round(n * 1_000_000) / 1_000_000;
}
