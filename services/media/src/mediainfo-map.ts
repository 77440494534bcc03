// MediaInfoLib's reading (mediainfo.js) mapped one to one onto the MediaSummary ffprobe gives,
// or null where the mapping is not exact (then ffprobe reads the file). One mapping job; the
// name tables it uses are in mediainfo-tables.ts.
import type { MediaSummary, StreamInfo } from '@conform/contracts';
import {
  CHANNEL_LAYOUTS,
  CONTAINERS,
  LANGUAGES,
  MATRICES,
  PRIMARIES,
  SUBTITLE_CODECS,
  TRANSFERS,
} from './mediainfo-tables.js';

/**
 * MediaInfoLib's description of a file (mediainfo.js `format: 'object'`) reduced to the
 * {@link MediaSummary} ffprobe's would give, or the reason it cannot be: anything outside the
 * tables below (a codec, language, channel layout, colour value it does not map one to one),
 * anything the summary takes from ffprobe's side data or stream indexes MediaInfo does not give
 * alike (HDR, rotation, timecode tracks, attachments, cover art, extra video streams), MPEG-TS
 * (its duration comes from the end of the file, which the read budget leaves out) and missing
 * essentials. The caller then asks ffprobe, the reference. Pure.
 */
export function summarizeMediaInfo(
  tracks: readonly Track[],
): { ok: true; media: MediaSummary } | { ok: false; why: string } {
  const general = tracks.find((t) => t['@type'] === 'General');
  if (!general) return no('no General track');
  const format = str(general.Format);
  const container = CONTAINERS[format ?? ''];
  if (!container) return no(`container ${format ?? 'unknown'} is read by ffprobe`);
  const extra = (general.extra ?? {}) as Record<string, unknown>;
  if (extra.Attachments !== undefined) return no('attachments');
  if (general.Cover !== undefined) return no('cover art');
  const videos = tracks.filter((t) => t['@type'] === 'Video');
  if (videos.length !== 1) return no(`${videos.length} video tracks`);
  const other = tracks.find((t) => !KNOWN_TRACKS.has(String(t['@type'])));
  if (other) return no(`a track of type ${String(other['@type'])}`);
  const durationSec = num(general.Duration);
  if (durationSec === null || durationSec <= 0) return no('no duration');
  const video = videoOf(videos[0]!);
  if ('why' in video) return no(video.why);
  const streams: StreamInfo[] = [];
  for (const t of tracks) {
    if (t['@type'] !== 'Audio' && t['@type'] !== 'Text') continue;
    const s = streamOf(t);
    if ('why' in s) return no(s.why);
    streams.push(s);
  }
  const menu = tracks.find((t) => t['@type'] === 'Menu');
  const chapters = menu
    ? Object.keys((menu.extra ?? {}) as object).filter((k) => /^_\d+_\d\d_\d\d_\d+$/.test(k)).length
    : 0;
  return {
    ok: true,
    media: {
      container,
      durationSec,
      bitRate: num(general.OverallBitRate),
      video: video.video,
      audioStreams: streams.filter((s) => s.kind === 'audio').length,
      subtitleStreams: streams.filter((s) => s.kind === 'subtitle').length,
      chapters,
      streams,
    },
  };
}

/** One track of mediainfo.js's object result; values are strings or numbers. */
export type Track = Record<string, unknown>;

type Video = NonNullable<MediaSummary['video']>;

function videoOf(t: Track): { video: Video } | { why: string } {
  const codec = videoCodec(t);
  if (!codec) return { why: `video format ${str(t.Format) ?? 'unknown'}` };
  const width = num(t.Width);
  const height = num(t.Height);
  if (!width || !height) return { why: 'no frame size' };
  if (t.HDR_Format !== undefined) return { why: 'HDR metadata' };
  const rotation = num(t.Rotation);
  if (rotation) return { why: 'rotation' };
  if (t.TimeCode_FirstFrame !== undefined) return { why: 'timecode' };
  const bitDepth = num(t.BitDepth);
  const pixFmt = pixFmtOf(str(t.ColorSpace), str(t.ChromaSubsampling), bitDepth);
  if (!pixFmt) return { why: 'pixel format' };
  const colour = coloursOf(t);
  if ('why' in colour) return colour;
  const scan = str(t.ScanType);
  let fieldOrder: string | null = null;
  if (scan === 'Progressive') fieldOrder = 'progressive';
  else if (scan !== undefined) {
    const order = { TFF: 'tt', BFF: 'bb' }[str(t.ScanOrder) ?? ''];
    if (!order) return { why: `scan type ${scan} ${str(t.ScanOrder) ?? ''}` };
    fieldOrder = order;
  }
  const fpsNum = num(t.FrameRate_Num);
  const fpsDen = num(t.FrameRate_Den);
  const fps = fpsNum && fpsDen ? fpsNum / fpsDen : num(t.FrameRate);
  return {
    video: {
      codec,
      width,
      height,
      pixFmt,
      colorTransfer: colour.transfer,
      profile: profileOf(codec, str(t.Format_Profile)),
      bitDepth,
      frameRate: fps ? Math.round(fps * 1000) / 1000 : null,
      colorPrimaries: colour.primaries,
      colorSpace: colour.matrix,
      hdr: null,
      sideData: [],
      timecode: null,
      fieldOrder,
      rotation: null,
    },
  };
}

function streamOf(t: Track): StreamInfo | { why: string } {
  const index = Number(str(t.StreamOrder));
  if (!Number.isInteger(index)) return { why: `stream order ${str(t.StreamOrder) ?? 'missing'}` };
  const language = languageOf(str(t.Language));
  if (language === undefined) return { why: `language ${str(t.Language)}` };
  const base = {
    index,
    language,
    // `Yes / Yes` in mp4 (track header and its alternate group).
    default: flag(t.Default),
    forced: flag(t.Forced),
    title: str(t.Title) ?? null,
  };
  if (t['@type'] === 'Text') {
    const codec = SUBTITLE_CODECS[str(t.Format) ?? ''];
    if (!codec) return { why: `subtitle format ${str(t.Format) ?? 'unknown'}` };
    return {
      ...base,
      kind: 'subtitle',
      codec,
      channels: null,
      profile: null,
      channelLayout: null,
      bitRate: num(t.BitRate),
    };
  }
  const codec = audioCodec(t);
  if (!codec) return { why: `audio format ${str(t.Format) ?? 'unknown'}` };
  const profile = audioProfile(codec, t);
  if (profile === undefined) return { why: `audio profile of ${codec}` };
  const layout = CHANNEL_LAYOUTS[str(t.ChannelLayout) ?? ''];
  if (!layout) return { why: `channel layout ${str(t.ChannelLayout) ?? 'unknown'}` };
  return {
    ...base,
    kind: 'audio',
    codec,
    channels: num(t.Channels),
    profile,
    channelLayout: layout,
    bitRate: num(t.BitRate),
  };
}

const KNOWN_TRACKS = new Set(['General', 'Video', 'Audio', 'Text', 'Menu']);

function videoCodec(t: Track): string | null {
  const format = str(t.Format);
  switch (format) {
    case 'HEVC':
      return 'hevc';
    case 'AVC':
      return 'h264';
    case 'AV1':
      return 'av1';
    case 'VP9':
      return 'vp9';
    case 'VP8':
      return 'vp8';
    case 'MPEG Video':
      return (
        { 'Version 2': 'mpeg2video', 'Version 1': 'mpeg1video' }[str(t.Format_Version) ?? ''] ??
        null
      );
    default:
      return null;
  }
}

/** ffprobe's profile names: HEVC, H.264 and AV1 alike; MPEG-2 without the level. */
function profileOf(codec: string, profile: string | undefined): string | null {
  if (!profile) return null;
  if (codec === 'mpeg2video' || codec === 'mpeg1video') return profile.split('@')[0] ?? null;
  return profile.split('@')[0]!.replace(/^Format Range$/, 'Rext');
}

function pixFmtOf(
  space: string | undefined,
  chroma: string | undefined,
  depth: number | null,
): string | null {
  if (space !== 'YUV' || !depth) return null;
  const sub = { '4:2:0': '420', '4:2:2': '422', '4:4:4': '444' }[chroma ?? ''];
  if (!sub) return null;
  if (depth === 8) return `yuv${sub}p`;
  return depth === 10 || depth === 12 ? `yuv${sub}p${depth}le` : null;
}

function coloursOf(
  t: Track,
): { transfer: string | null; primaries: string | null; matrix: string | null } | { why: string } {
  // `BT.709 / BT.709`: container and stream; `_Original` the stream's where they differ.
  // Any disagreement leaves the file to ffprobe.
  const pick = (key: string, table: Record<string, string>) => {
    const values = [str(t[key]), str(t[`${key}_Original`])]
      .filter((v): v is string => v !== undefined)
      .flatMap((v) => v.split(' / '));
    if (values.length === 0) return null;
    if (values.some((v) => v !== values[0])) return undefined;
    return table[values[0]!] ?? undefined;
  };
  const transfer = pick('transfer_characteristics', TRANSFERS);
  const primaries = pick('colour_primaries', PRIMARIES);
  const matrix = pick('matrix_coefficients', MATRICES);
  if (transfer === undefined || primaries === undefined || matrix === undefined) {
    return { why: 'colour description' };
  }
  return { transfer, primaries, matrix };
}

function audioCodec(t: Track): string | null {
  const format = str(t.Format);
  switch (format) {
    case 'AAC':
      return 'aac';
    case 'AC-3':
      return 'ac3';
    case 'E-AC-3':
      // Atmos (JOC) and the like carry more than ffprobe's eac3 tells; leave them to it.
      return t.Format_AdditionalFeatures === undefined ? 'eac3' : null;
    case 'FLAC':
      return 'flac';
    case 'Opus':
      return 'opus';
    case 'Vorbis':
      return 'vorbis';
    case 'MPEG Audio':
      return { 'Layer 3': 'mp3', 'Layer 2': 'mp2' }[str(t.Format_Profile) ?? ''] ?? null;
    default:
      // DTS (whose profile tells DTS-HD MA apart), TrueHD, PCM: ffprobe names them.
      return null;
  }
}

/** ffprobe's audio profile: `LC` for AAC-LC, none for the others mapped; undefined: unsure. */
function audioProfile(codec: string, t: Track): string | null | undefined {
  if (codec !== 'aac') return null;
  const features = str(t.Format_AdditionalFeatures);
  const sbr = str(t.Format_Settings_SBR);
  return features === 'LC' && (sbr === undefined || sbr.startsWith('No')) ? 'LC' : undefined;
}

/**
 * MediaInfo gives ISO 639-1; ffprobe the tag as muxed (ISO 639-2). Languages whose 639-2 code
 * has two forms (fre/fra, ger/deu, …) cannot be told apart: undefined, for ffprobe to read.
 */
function languageOf(code: string | undefined): string | null | undefined {
  if (code === undefined || code === 'und' || code === 'zxx') return null;
  return LANGUAGES[code];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}
function num(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
}
function flag(v: unknown): boolean {
  const values = (str(v) ?? 'No').split(' / ');
  return values.every((x) => x === 'Yes');
}
function no(why: string): { ok: false; why: string } {
  return { ok: false, why };
}
