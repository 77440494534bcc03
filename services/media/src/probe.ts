// ffprobe, the reference reading of a file: run it (spawner.ts), and summarise its JSON into the
// MediaSummary the events carry (codec, profile, depth, HDR, field order, every stream).
// One job; long because each field's ffprobe quirks are handled where the field is read.
import { execa } from 'execa';
import type { MediaSummary, StreamKind } from '@conform/contracts';
import { MediaUnreadableError, ToolMissingError } from './errors.js';
import { runTool } from './spawner.js';

/** The parts of `ffprobe -print_format json -show_format -show_streams` output we read. */
export interface FfprobeOutput {
  format?: { format_name?: string; duration?: string; bit_rate?: string };
  chapters?: unknown[];
  streams?: {
    codec_type?: string;
    codec_name?: string;
    width?: number;
    height?: number;
    pix_fmt?: string;
    color_transfer?: string;
    color_primaries?: string;
    color_space?: string;
    profile?: string;
    bits_per_raw_sample?: string;
    avg_frame_rate?: string;
    r_frame_rate?: string;
    channels?: number;
    channel_layout?: string;
    index?: number;
    codec_tag_string?: string;
    field_order?: string;
    bit_rate?: string;
    tags?: {
      language?: string;
      title?: string;
      filename?: string;
      mimetype?: string;
      timecode?: string;
      TIMECODE?: string;
      BPS?: string;
      'BPS-eng'?: string;
    };
    duration?: string;
    disposition?: { attached_pic?: number; default?: number; forced?: number };
    side_data_list?: { side_data_type?: string; rotation?: number }[];
  }[];
}

/** Whether a probe succeeded; unreadable files are an expected outcome, not an exception. */
export type ProbeOutcome = { ok: true; media: MediaSummary } | { ok: false; reason: string };

/** Reduces ffprobe's JSON to the summary decisions need. Tolerates missing fields. */
export function summarizeProbe(json: FfprobeOutput): MediaSummary {
  const streams = json.streams ?? [];
  // Cover art in mp4/mkv shows up as a one-frame video stream; it is not the movie.
  const video = streams.find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  const streamDurations = streams
    .map((s) => positiveNumber(s.duration))
    .filter((d): d is number => d !== null);
  const durationSec =
    positiveNumber(json.format?.duration) ??
    (streamDurations.length ? Math.max(...streamDurations) : null);
  return {
    container: json.format?.format_name ?? '',
    durationSec,
    bitRate: positiveNumber(json.format?.bit_rate),
    video: video
      ? {
          codec: video.codec_name ?? 'unknown',
          width: video.width ?? 0,
          height: video.height ?? 0,
          pixFmt: video.pix_fmt ?? null,
          colorTransfer: video.color_transfer ?? null,
          profile: video.profile ?? null,
          bitDepth: bitDepthOf(video.bits_per_raw_sample, video.pix_fmt),
          frameRate: frameRateOf(video.avg_frame_rate) ?? frameRateOf(video.r_frame_rate),
          colorPrimaries: video.color_primaries ?? null,
          colorSpace: video.color_space ?? null,
          hdr: hdrOf(video.color_transfer, sideDataOf(video)),
          sideData: sideDataOf(video),
          timecode: timecodeOf(streams, video),
          fieldOrder:
            video.field_order && video.field_order !== 'unknown' ? video.field_order : null,
          rotation: rotationOf(video),
        }
      : null,
    audioStreams: streams.filter((s) => s.codec_type === 'audio').length,
    subtitleStreams: streams.filter((s) => s.codec_type === 'subtitle').length,
    chapters: json.chapters?.length ?? 0,
    streams: streams.flatMap((s, position) => {
      if (s === video) return [];
      const kind = kindOf(s);
      if (!kind) return [];
      return [
        {
          index: s.index ?? position,
          kind,
          codec: s.codec_name ?? 'unknown',
          language: languageOf(s.tags?.language),
          channels: kind === 'audio' ? (s.channels ?? null) : null,
          profile: s.profile ?? null,
          channelLayout: kind === 'audio' ? (s.channel_layout ?? null) : null,
          default: s.disposition?.default === 1,
          forced: s.disposition?.forced === 1,
          title: s.tags?.title ?? null,
          ...(kind === 'attachment' || kind === 'cover'
            ? { filename: s.tags?.filename ?? null, mimetype: s.tags?.mimetype ?? null }
            : {}),
          ...(kind === 'data' ? { codecTag: s.codec_tag_string ?? null } : {}),
          ...(kind === 'audio' || kind === 'subtitle' || kind === 'attachment'
            ? { bitRate: streamBitRate(s) }
            : {}),
        },
      ];
    }),
  };
}

/** The display matrix's rotation in degrees, or null when there is none (or it is 0). */
function rotationOf(s: ProbedStream): number | null {
  const matrix = (s.side_data_list ?? []).find((d) => d.side_data_type === 'Display Matrix');
  const r = matrix?.rotation;
  return typeof r === 'number' && Number.isFinite(r) && r !== 0 ? r : null;
}

/** ffprobe's stream bit_rate (mp4), else the BPS statistics tag mkvmerge writes; null. */
function streamBitRate(s: ProbedStream): number | null {
  return (
    positiveNumber(s.bit_rate) ?? positiveNumber(s.tags?.BPS) ?? positiveNumber(s.tags?.['BPS-eng'])
  );
}

/** Every stream besides the main video, by what it is; null for what ffprobe cannot type. */
function kindOf(s: ProbedStream): StreamKind | null {
  switch (s.codec_type) {
    case 'audio':
    case 'subtitle':
    case 'attachment':
    case 'data':
      return s.codec_type;
    case 'video':
      return s.disposition?.attached_pic === 1 ? 'cover' : 'video';
    default:
      return null;
  }
}

/** The start timecode from the video's tags or a timecode track's (QuickTime tmcd). */
function timecodeOf(streams: ProbedStream[], video: ProbedStream | undefined): string | null {
  const tagged = [video, ...streams].find((s) => s?.tags?.timecode ?? s?.tags?.TIMECODE);
  return tagged?.tags?.timecode ?? tagged?.tags?.TIMECODE ?? null;
}

type ProbedStream = NonNullable<FfprobeOutput['streams']>[number];

function sideDataOf(s: ProbedStream): string[] {
  return (s.side_data_list ?? []).map((d) => d.side_data_type ?? '').filter(Boolean);
}

/** bits_per_raw_sample when ffprobe knows it, else the depth a pixel format name carries. */
export function bitDepthOf(raw: string | undefined, pixFmt: string | undefined): number | null {
  const n = Number(raw);
  if (Number.isInteger(n) && n > 0) return n;
  if (!pixFmt) return null;
  const m = /p(\d{2})(le|be)?$/.exec(pixFmt);
  return m ? Number(m[1]) : 8;
}

/** `24000/1001` → 23.976…; `0/0` (unknown) → null. */
export function frameRateOf(raw: string | undefined): number | null {
  const [num, den] = (raw ?? '').split('/').map(Number);
  if (!num || !den || !Number.isFinite(num / den)) return null;
  return Math.round((num / den) * 1000) / 1000;
}

/** The HDR format: Dolby Vision and HDR10+ by their side data, HDR10 by PQ, HLG by its curve. */
export function hdrOf(
  transfer: string | undefined,
  sideData: string[],
): 'hdr10' | 'hdr10+' | 'hlg' | 'dolby-vision' | null {
  if (sideData.some((t) => /DOVI/i.test(t))) return 'dolby-vision';
  if (sideData.some((t) => /HDR10\+|SMPTE2094-40|dynamic metadata/i.test(t))) return 'hdr10+';
  if (transfer === 'smpte2084') return 'hdr10';
  if (transfer === 'arib-std-b67') return 'hlg';
  return null;
}

// `und` means the muxer knew nothing, the same as no tag at all.
function languageOf(tag: string | undefined): string | null {
  const lang = tag?.trim().toLowerCase();
  return lang && lang !== 'und' ? lang : null;
}

/**
 * Runs `ffprobe -show_format -show_streams` and returns its parsed JSON: the one ffprobe call
 * every stage shares (the verifier reads more of the JSON than the summary keeps). Throws
 * {@link MediaUnreadableError} (with ffprobe's reason) for anything that is not readable
 * media, {@link ToolMissingError} when ffprobe is not installed. `niceness` is the spawner's
 * (PROBE_NICENESS unless said); `extraArgs` go before the path (the verifier reads some packets
 * in the same run).
 */
export async function readFfprobe<T extends { streams?: unknown[] } = FfprobeOutput>(
  path: string,
  opts: { signal?: AbortSignal; niceness?: number; extraArgs?: readonly string[] } = {},
): Promise<T> {
  // From the spawner's helper process: one of these per file, and a spawn from conform's own
  // (large) process blocks its event loop for the fork.
  const result = await runTool(
    'ffprobe',
    [
      '-v',
      'error',
      '-print_format',
      'json',
      '-show_format',
      '-show_streams',
      '-show_chapters',
      ...(opts.extraArgs ?? []),
      path,
    ],
    {
      signal: opts.signal,
      forceKillAfterDelay: 2_000,
      ...(opts.niceness !== undefined ? { niceness: opts.niceness } : {}),
    },
  );
  if (result.code === 'ENOENT' && result.exitCode === undefined) {
    throw new ToolMissingError('ffprobe');
  }
  if (result.isCanceled) throw opts.signal?.reason ?? new Error('probe aborted');
  if (result.failed) {
    throw new MediaUnreadableError(
      path,
      lastLine(result.stderr) ?? `ffprobe exited ${result.exitCode}`,
    );
  }
  let parsed: T;
  try {
    parsed = JSON.parse(result.stdout) as T;
  } catch (err) {
    throw new MediaUnreadableError(path, 'ffprobe printed no valid JSON', { cause: err });
  }
  if (!parsed.streams?.length) {
    throw new MediaUnreadableError(path, 'no audio, video or subtitle streams');
  }
  return parsed;
}

/** Probes a file and reduces it to the {@link MediaSummary} decisions need; errors as {@link readFfprobe}. */
export async function probeMedia(
  path: string,
  opts: { signal?: AbortSignal } = {},
): Promise<MediaSummary> {
  const summary = summarizeProbe(await readFfprobe(path, opts));
  // HDR10+ (SMPTE 2094-40) rides in per-frame SEI, not in the stream's side data, so the stream
  // view reports such a file as plain HDR10; encoding it as HDR10 would drop its dynamic
  // metadata. Only PQ files pay for this look at the first frame.
  const video = summary.video;
  if (video?.hdr === 'hdr10' && hasDynamicHdr(await firstFrameSideData(path, opts))) {
    return { ...summary, video: { ...video, hdr: 'hdr10+' } };
  }
  return summary;
}

/** Whether a frame's side data carries HDR10+ dynamic metadata (ffmpeg's name for it). Pure. */
export function hasDynamicHdr(sideDataTypes: readonly string[]): boolean {
  return sideDataTypes.some((t) => /SMPTE2094-40|HDR10\+/i.test(t));
}

/** The side data types of the first video frame; empty when ffprobe cannot say. */
export async function firstFrameSideData(
  path: string,
  opts: { signal?: AbortSignal } = {},
): Promise<string[]> {
  const result = await execa(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-read_intervals',
      '%+#1',
      '-show_entries',
      'frame_side_data=side_data_type',
      '-print_format',
      'json',
      path,
    ],
    { reject: false, stdin: 'ignore', cancelSignal: opts.signal, forceKillAfterDelay: 2_000 },
  );
  if (result.isCanceled) throw opts.signal?.reason ?? new Error('probe aborted');
  if (result.failed) return [];
  try {
    const parsed = JSON.parse(result.stdout) as {
      frames?: { side_data_list?: { side_data_type?: string }[] }[];
    };
    return (parsed.frames?.[0]?.side_data_list ?? []).flatMap((d) =>
      d.side_data_type ? [d.side_data_type] : [],
    );
  } catch {
    return [];
  }
}

/** Like {@link probeMedia} but returns unreadable files as a value; other errors still throw. */
export async function tryProbeMedia(
  path: string,
  opts: { signal?: AbortSignal } = {},
): Promise<ProbeOutcome> {
  try {
    return { ok: true, media: await probeMedia(path, opts) };
  } catch (err) {
    if (err instanceof MediaUnreadableError) return { ok: false, reason: err.reason };
    throw err;
  }
}

function positiveNumber(raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const n = Number(raw);
  return Number.isFinite(n) && n > 0 ? n : null;
}

function lastLine(text: string | undefined): string | null {
  const lines = (text ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.at(-1) ?? null;
}
