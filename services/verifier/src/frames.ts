import type { VerificationCheck } from '@conform/contracts';
import type { FfprobeJson } from './facts.js';
import { runTool } from './tool.js';

/**
 * Frames the output may differ from the source by: three (an encoder's delay, an edit list and
 * the leading B-frames of an open GOP a recording starts with, which no decoder can show, may
 * each cost one or two), or 0.01 % of a long film (17 frames of a 2-hour one, well under the
 * duration check's 0.5 %): what a frame count catches is frames lost in the middle or the end.
 */
export function frameToleranceFor(sourceFrames: number): number {
  return Math.max(3, Math.round(sourceFrames * 0.0001));
}

/**
 * The output decoded as many video frames as the source has packets (one per frame). The plan
 * changes no frame rate (variable rate passes through; bwdif sends one frame per frame), so
 * that is the expectation; a deinterlaced source whose fields are stored as packets of their
 * own (field-coded H.264) holds two per frame, which also passes. Pure.
 */
export function frameCountCheck(
  sourcePackets: number | null,
  outputFrames: number | null,
  deinterlaced: boolean,
): VerificationCheck {
  if (sourcePackets === null || sourcePackets <= 0) {
    return {
      name: 'frame-count',
      passed: false,
      measured: outputFrames,
      limit: 'source frame count unknown',
    };
  }
  const tolerance = frameToleranceFor(sourcePackets);
  const near = (want: number) =>
    outputFrames !== null && Math.abs(outputFrames - want) <= tolerance;
  const fieldPairs = deinterlaced && near(Math.round(sourcePackets / 2));
  return {
    name: 'frame-count',
    passed: near(sourcePackets) || fieldPairs,
    measured: outputFrames,
    limit: fieldPairs
      ? `${Math.round(sourcePackets / 2)}±${tolerance} (source fields as packets)`
      : `${sourcePackets}±${tolerance}`,
  };
}

/** One packet of the main video as ffprobe lists it. */
export interface VideoPacket {
  /** Its presentation time in seconds on the file's timestamps; null when it has none. */
  ptsSec: number | null;
  key: boolean;
}

/**
 * The main video's packets in file order, each with its time and whether it is a keyframe, read
 * by demuxing the whole file without decoding: I/O-bound, cheap next to a decode. The frame
 * count reads their number; a short source's keyframes are read from them too
 * ({@link LISTED_KEYFRAMES_MAX_SEC}). Null when ffprobe cannot.
 */
export async function listVideoPackets(
  path: string,
  opts: { signal?: AbortSignal } = {},
): Promise<VideoPacket[] | null> {
  const result = await runTool(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-show_entries',
      'packet=pts_time,flags',
      '-of',
      'csv=p=0',
      path,
    ],
    opts,
  );
  if (result.exitCode !== 0) return null;
  return videoPacketsOf(result.stdout);
}

/**
 * ffprobe's `pts_time,flags` lines. A packet with side data (MPEG-TS's) ends its line with a
 * comma and is followed by an empty line, its side data section with no field asked for. Pure.
 */
export function videoPacketsOf(stdout: string): VideoPacket[] {
  return stdout.split('\n').flatMap((line) => {
    const [time, flags] = line.split(',');
    if (flags === undefined || !/^[A-Z_]+$/.test(flags)) return [];
    const pts = Number(time);
    return [
      { ptsSec: time !== '' && Number.isFinite(pts) ? pts : null, key: flags.startsWith('K') },
    ];
  });
}

/**
 * The packets of the first video stream (`-select_streams v:0`, as {@link listVideoPackets}
 * reads them) among the probe's, in file order. Pure.
 */
export function firstVideoPacketsOf(json: FfprobeJson): VideoPacket[] {
  const streams = json.streams ?? [];
  const position = streams.findIndex((s) => s.codec_type === 'video');
  if (position === -1) return [];
  const index = streams[position]!.index ?? position;
  return (json.packets ?? [])
    .filter((p) => p.stream_index === index)
    .map((p) => {
      const pts = p.pts_time === undefined ? NaN : Number(p.pts_time);
      return { ptsSec: Number.isFinite(pts) ? pts : null, key: p.flags?.startsWith('K') ?? false };
    });
}

/**
 * The main video's packets from its first keyframe on (a recording cut mid-GOP starts with
 * packets no decoder can show). Null when ffprobe cannot read them.
 */
export async function countVideoPackets(
  path: string,
  opts: { signal?: AbortSignal } = {},
): Promise<number | null> {
  const packets = await listVideoPackets(path, opts);
  return packets && packetsFromKeyframe(packets);
}

/** How many of these packets there are from the first keyframe on; null without one. Pure. */
export function packetsFromKeyframe(packets: VideoPacket[]): number | null {
  const first = packets.findIndex((p) => p.key);
  return first === -1 ? null : packets.length - first;
}

/**
 * Sources up to this long have the keyframes their SSIM segments start from read from the
 * listing of their packets, which the frame count reads anyway and which starts with the
 * verification: a demux of a short file ends about when the probes beside it do, and a probe
 * of its own would cost more (starting ffprobe takes 0.1 s of CPU; listing a minute of video,
 * a few hundredths). A longer source's demux takes longer than the probes, and the decode
 * must not wait for it: its keyframes are found by seeking ({@link sourceKeyframes}).
 */
export const LISTED_KEYFRAMES_MAX_SEC = 120;
