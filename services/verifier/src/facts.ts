import { stat } from 'node:fs/promises';
import { MediaUnreadableError, readFfprobe } from '@conform/media';
import { firstVideoPacketsOf, type VideoPacket } from './frames.js';
import { VERIFY_NICENESS } from './tool.js';

/** The video stream facts verification compares; colour tags are null when untagged. */
export interface VideoFacts {
  codec: string;
  width: number;
  height: number;
  pixFmt: string | null;
  colorPrimaries: string | null;
  colorTransfer: string | null;
  colorSpace: string | null;
  /** ffprobe's field_order; null when unknown. */
  fieldOrder: string | null;
  /** The display matrix rotation in degrees; null when none. */
  rotation: number | null;
  /** The stream's start time in seconds (ffprobe's start_time); null when unknown. */
  startSec: number | null;
}

/** What the verifier reads about one file: more than the planner's summary (languages, colour). */
export interface MediaFacts {
  container: string;
  /** The file's start time in seconds (ffprobe's format start_time), 0 when unknown. */
  startSec: number;
  durationSec: number | null;
  sizeBytes: number;
  video: VideoFacts | null;
  /** Language tag of each audio stream in order (`und` when untagged). */
  audioLanguages: string[];
  subtitleLanguages: string[];
  /** Every stream besides the main video, in file order (what the stream plan is checked on). */
  streams: FactStream[];
  chapters: number;
  /** The start timecode from the video's or a timecode track's tags, if any. */
  timecode: string | null;
}

/** One stream besides the main video, as the stream plan check compares it. */
export interface FactStream {
  index: number;
  kind: 'audio' | 'subtitle' | 'attachment' | 'cover' | 'data' | 'video';
  codec: string;
  language: string;
  title: string | null;
  default: boolean;
  forced: boolean;
  filename: string | null;
}

/**
 * A probe result: unreadable media is an expected outcome, carried as a value. `keyframes`: the
 * main video's keyframes among the packets of the `windows` asked for, on the video's own
 * timeline (0 = its first frame); present when windows were asked for. `packets`: the first
 * video stream's packets, as {@link listVideoPackets} lists them; present when asked for.
 */
export type FactsOutcome =
  | { ok: true; facts: MediaFacts; keyframes?: number[]; packets?: VideoPacket[] }
  | { ok: false; reason: string };

/** The parts of ffprobe's `-show_format -show_streams` JSON the verifier reads. */
export interface FfprobeJson {
  /** Only when packets were asked for (`-read_intervals`, `-show_entries packet=…`). */
  packets?: { stream_index?: number; pts_time?: string; flags?: string }[];
  format?: { format_name?: string; duration?: string; size?: string; start_time?: string };
  chapters?: unknown[];
  streams?: {
    index?: number;
    codec_type?: string;
    codec_name?: string;
    width?: number;
    height?: number;
    pix_fmt?: string;
    color_primaries?: string;
    color_transfer?: string;
    color_space?: string;
    field_order?: string;
    side_data_list?: { side_data_type?: string; rotation?: number }[];
    duration?: string;
    start_time?: string;
    tags?: Record<string, string | undefined>;
    disposition?: { attached_pic?: number; default?: number; forced?: number };
  }[];
}

/** Reduces ffprobe JSON to {@link MediaFacts}. Pure; `sizeBytes` comes from the filesystem. */
export function factsFromProbe(json: FfprobeJson, sizeBytes: number): MediaFacts {
  const streams = json.streams ?? [];
  // Cover art shows up as a one-frame video stream; it is not the movie.
  const video = streams.find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  const durations = streams.map((s) => positive(s.duration)).filter((d): d is number => d !== null);
  const languages = (type: string) =>
    streams.filter((s) => s.codec_type === type).map((s) => s.tags?.language ?? 'und');
  return {
    container: json.format?.format_name ?? '',
    startSec: finite(json.format?.start_time) ?? 0,
    durationSec:
      positive(json.format?.duration) ?? (durations.length ? Math.max(...durations) : null),
    sizeBytes,
    video: video
      ? {
          codec: video.codec_name ?? 'unknown',
          width: video.width ?? 0,
          height: video.height ?? 0,
          pixFmt: video.pix_fmt ?? null,
          colorPrimaries: tag(video.color_primaries),
          colorTransfer: tag(video.color_transfer),
          colorSpace: tag(video.color_space),
          fieldOrder: tag(video.field_order),
          rotation:
            video.side_data_list?.find((d) => d.side_data_type === 'Display Matrix')?.rotation ??
            null,
          startSec: finite(video.start_time),
        }
      : null,
    audioLanguages: languages('audio'),
    subtitleLanguages: languages('subtitle'),
    streams: streams.flatMap((s, position): FactStream[] => {
      if (s === video) return [];
      const kind =
        s.codec_type === 'video'
          ? s.disposition?.attached_pic === 1
            ? 'cover'
            : 'video'
          : s.codec_type;
      if (
        kind !== 'audio' &&
        kind !== 'subtitle' &&
        kind !== 'attachment' &&
        kind !== 'cover' &&
        kind !== 'data' &&
        kind !== 'video'
      ) {
        return [];
      }
      return [
        {
          index: s.index ?? position,
          kind,
          codec: s.codec_name ?? 'unknown',
          language: tagOf(s, 'language') ?? 'und',
          title: tagOf(s, 'title'),
          default: s.disposition?.default === 1,
          forced: s.disposition?.forced === 1,
          filename: tagOf(s, 'filename'),
        },
      ];
    }),
    chapters: json.chapters?.length ?? 0,
    timecode:
      [video, ...streams].map((s) => (s ? tagOf(s, 'timecode') : null)).find(Boolean) ?? null,
  };
}

// mkv tags come back upper case when ffmpeg wrote them from another container's.
function tagOf(s: { tags?: Record<string, string | undefined> }, key: string): string | null {
  return s.tags?.[key] ?? s.tags?.[key.toUpperCase()] ?? null;
}

/**
 * Probes a file with ffprobe. Unreadable media (missing, truncated beyond parsing, no streams)
 * comes back as `{ok: false, reason}` with ffprobe's own words; a missing ffprobe throws.
 * `windows` (`-read_intervals` syntax) also reads the packets there, in the same run: the
 * output's keyframes near the decode pass's boundaries, without an ffprobe of their own.
 */
export async function probeFacts(
  path: string,
  opts: { signal?: AbortSignal; windows?: string[]; listPackets?: boolean } = {},
): Promise<FactsOutcome> {
  const windows = opts.windows ?? [];
  const listPackets = windows.length === 0 && opts.listPackets === true;
  let json: FfprobeJson;
  try {
    json = await readFfprobe<FfprobeJson>(path, {
      ...(opts.signal ? { signal: opts.signal } : {}),
      niceness: VERIFY_NICENESS,
      ...(windows.length || listPackets
        ? {
            extraArgs: [
              ...(windows.length ? ['-read_intervals', windows.join(',')] : []),
              ...['-show_entries', 'packet=stream_index,pts_time,flags'],
            ],
          }
        : {}),
    });
  } catch (err) {
    if (err instanceof MediaUnreadableError) return { ok: false, reason: err.reason };
    throw err;
  }
  const size = await stat(path).then(
    (s) => s.size,
    () => Number(json.format?.size ?? 0),
  );
  const facts = factsFromProbe(json, size);
  if (listPackets) return { ok: true, facts, packets: firstVideoPacketsOf(json) };
  return windows.length
    ? { ok: true, facts, keyframes: videoKeyframesOf(json, facts) }
    : { ok: true, facts };
}

/**
 * The main video's keyframes among the probe's packets (every stream's, since the facts need
 * every stream), on the video's own timeline. Pure.
 */
export function videoKeyframesOf(json: FfprobeJson, facts: MediaFacts): number[] {
  const streams = json.streams ?? [];
  const position = streams.findIndex(
    (s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1,
  );
  if (position === -1) return [];
  const index = streams[position]!.index ?? position;
  const origin = facts.video?.startSec ?? facts.startSec;
  return (json.packets ?? [])
    .filter((p) => p.stream_index === index && p.flags?.startsWith('K'))
    .map((p) => Math.round((Number(p.pts_time) - origin) * 1e6) / 1e6)
    .filter((t) => Number.isFinite(t));
}

function finite(raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const n = Number(raw);
  return Number.isFinite(n) ? n : null;
}

function positive(raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const n = Number(raw);
  return Number.isFinite(n) && n > 0 ? n : null;
}

// ffprobe prints `unknown` for a stream that carries no tag; treat it as absent.
function tag(raw: string | undefined): string | null {
  return raw === undefined || raw === 'unknown' || raw === '' ? null : raw;
}
