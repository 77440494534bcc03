import type { StreamPlan } from '@conform/contracts';
import { EncodeProfileViolationError } from './errors.js';
import type { EncodeProfile } from './profiles.js';

/** HDR10 signalling carried from the source: colour tags always, mastering data when known. */
export interface Hdr10Signal {
  /** x265 syntax, e.g. `G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)`. */
  masterDisplay: string | null;
  /** `maxCLL,maxFALL`, e.g. `1000,400`. */
  maxCll: string | null;
}

/** What {@link buildEncodeArgs} needs: one plan, fully resolved. */
export interface EncodeArgsInput {
  inputPath: string;
  /** The file ffmpeg writes (the `.partial` path): the format is given explicitly, not guessed. */
  outputPath: string;
  profile: EncodeProfile;
  container: 'mkv' | 'mp4';
  /** 10-bit output; forced on for HDR10. */
  tenBit: boolean;
  /** Null for SDR sources. */
  hdr10: Hdr10Signal | null;
  /** The profile's quality scale (CRF, CQ, QP); null for the profile default. */
  quality: number | null;
  /** Downscale to at most this height, keeping the aspect ratio; null keeps the size. */
  maxHeight?: number | null;
  /** Per audio/subtitle stream: copy, convert or drop; absent copies every stream. */
  streams?: readonly StreamPlan[];
  /**
   * The output pixel format as ffprobe names it (a key of the profile's `formats`); absent: the
   * profile's 4:2:0 format of the asked depth.
   */
  pixFmt?: string;
  /** Scale to exactly this size (the plan worked it out); absent: even-rounded source size. */
  frameSize?: { width: number; height: number } | null;
}

// What every encode must carry, whatever the backend; checked after building.
const ALWAYS_REQUIRED = [
  '-map_metadata',
  '-map_chapters',
  '-max_muxing_queue_size',
  '-pix_fmt',
  '-vf',
  '-f',
];

/**
 * The ffmpeg arguments for one encode. The profile supplies the encoder-specific part; the
 * wrapper adds what every output needs: every kept stream mapped (first video re-encoded,
 * audio and subtitles copied), metadata and chapters, the pixel format, even dimensions, HDR10
 * tags, a muxing queue for sparse streams and faststart for mp4. Pure: the same input gives
 * the same list. Throws {@link EncodeProfileViolationError} if the result lacks a required flag.
 */
export function buildEncodeArgs(input: EncodeArgsInput): string[] {
  const { profile } = input;
  let tenBit = input.tenBit || input.hdr10 !== null;
  let pixFmt: string | null;
  if (input.pixFmt !== undefined) {
    pixFmt = profile.formats[input.pixFmt] ?? null;
    if (pixFmt === null) {
      throw new EncodeProfileViolationError(profile.encoder, `cannot encode ${input.pixFmt}`);
    }
    tenBit = /p10(le|be)?$/.test(input.pixFmt);
  } else {
    pixFmt = tenBit ? profile.pixFmt.tenBit : profile.pixFmt.eightBit;
  }
  if (pixFmt === null) {
    throw new EncodeProfileViolationError(profile.encoder, 'cannot encode 10-bit video');
  }
  const args = ['-hide_banner', '-nostdin', '-y', ...profile.deviceArgs, '-i', input.inputPath];
  args.push('-map', '0:v:0');
  const kept = input.streams?.filter((s) => s.action !== 'drop');
  if (kept) for (const s of kept) args.push('-map', `0:${s.index}`);
  else args.push('-map', '0:a?', '-map', '0:s?');
  // Fonts for styled subtitles live in attachments; mp4 has no place for them.
  if (input.container === 'mkv') args.push('-map', '0:t?');
  // Most encoders refuse odd widths or heights with 4:2:0 chroma; never upscale.
  const filters = [
    input.frameSize
      ? `scale=${input.frameSize.width}:${input.frameSize.height}`
      : input.maxHeight
        ? `scale=w=-2:h='trunc(min(ih,${Math.floor(input.maxHeight)})/2)*2'`
        : 'scale=trunc(iw/2)*2:trunc(ih/2)*2',
  ];
  if (profile.uploadFilter) {
    filters.push(tenBit ? profile.uploadFilter.tenBit : profile.uploadFilter.eightBit);
  }
  args.push('-vf', filters.join(','), '-c:v', profile.encoder, '-pix_fmt', pixFmt);
  args.push(...profile.presetArgs);
  args.push(profile.quality.flag, String(qualityFor(profile, input.quality)));
  args.push(...profile.quality.extra);
  args.push(...privateParams(profile, input.hdr10));
  if (input.hdr10) {
    args.push('-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc');
  }
  args.push(...streamCodecArgs(kept));
  if (input.container === 'mkv') args.push('-c:t', 'copy');
  args.push('-map_metadata', '0', '-map_chapters', '0');
  // Sparse subtitle streams can otherwise overflow the muxer queue on long files.
  args.push('-max_muxing_queue_size', '4096');
  args.push(...containerArgs(input.container, profile), input.outputPath);
  for (const flag of [...ALWAYS_REQUIRED, ...profile.requiredArgs]) {
    if (!args.includes(flag)) {
      throw new EncodeProfileViolationError(profile.encoder, `the arguments lack ${flag}`);
    }
  }
  return args;
}

function streamCodecArgs(kept: readonly StreamPlan[] | undefined): string[] {
  if (!kept) return ['-c:a', 'copy', '-c:s', 'copy'];
  // Output stream 0 is the video; kept streams follow in the order they were mapped.
  return kept.flatMap((s, i) => {
    const out = i + 1;
    if (s.action === 'copy' || !s.codec) return [`-c:${out}`, 'copy'];
    const rate = s.bitrateKbps ? [`-b:${out}`, `${s.bitrateKbps}k`] : [];
    return [`-c:${out}`, s.codec, ...rate];
  });
}

function qualityFor(profile: EncodeProfile, asked: number | null): number {
  if (asked === null || !Number.isFinite(asked)) return profile.quality.default;
  return Math.min(profile.quality.max, Math.max(profile.quality.min, Math.round(asked)));
}

function privateParams(profile: EncodeProfile, hdr10: Hdr10Signal | null): string[] {
  if (!profile.privateParams) return [];
  const params = [...profile.privateParams.base];
  if (hdr10 && profile.hdrMetadata === 'x265-params') {
    // repeat-headers: players joining mid-stream (and mkv remuxers) still see the HDR SEI.
    params.push('hdr10=1', 'hdr10-opt=1', 'repeat-headers=1');
    if (hdr10.masterDisplay) params.push(`master-display=${hdr10.masterDisplay}`);
    if (hdr10.maxCll) params.push(`max-cll=${hdr10.maxCll}`);
  }
  return [profile.privateParams.flag, params.join(':')];
}

function containerArgs(container: 'mkv' | 'mp4', profile: EncodeProfile): string[] {
  switch (container) {
    case 'mp4':
      // faststart moves the index to the front so players can start before the end loads.
      return [
        ...(profile.mp4Tag ? ['-tag:v', profile.mp4Tag] : []),
        '-movflags',
        '+faststart',
        '-f',
        'mp4',
      ];
    case 'mkv':
      return ['-f', 'matroska'];
  }
}
