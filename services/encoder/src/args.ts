import type { StreamPlan } from '@conform/contracts';
import { EncodeProfileViolationError } from './errors.js';
import type { EncodeProfile, HwDecode } from './profiles.js';

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
  /** `streams` names every stream (nothing mapped implicitly); see EncodeTarget.allStreams. */
  allStreams?: boolean;
  /** Drop the chapters; absent or `keep` copies them. */
  chapters?: 'keep' | 'drop';
  /** Files to attach (mkv): cover art extracted from the source, see {@link coverArtFiles}. */
  attachFiles?: readonly AttachFile[];
  /**
   * Decode on the encoder's device (the profile's `hwDecode` pipeline: its scaler and
   * deinterlacer, no upload); false or absent decodes in software. See {@link hwDecodeVerdict}.
   */
  hwDecode?: boolean;
  /** Keep the display matrix (`-noautorotate`) rather than rotating the frames. */
  keepRotation?: boolean;
  /** Remux only: copy the video as it is (a compliant video whose streams or container change). */
  videoCopy?: boolean;
  /** Deinterlace with bwdif first (one frame per frame); the output is progressive. */
  deinterlace?: { parity: 'tff' | 'bff' | 'auto' } | null;
}

/** A file `-attach`ed to an mkv output, with the tags players look for. */
export interface AttachFile {
  path: string;
  mimetype: string;
  filename: string;
}

// What every encode must carry, whatever the backend; checked after building.
const ALWAYS_REQUIRED = [
  '-map_metadata',
  '-map_chapters',
  '-max_muxing_queue_size',
  '-pix_fmt',
  '-filter:v:0',
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
  const remux = input.videoCopy === true;
  const args = ['-hide_banner', '-nostdin', '-y'];
  const hw = !remux && input.hwDecode === true ? profile.hwDecode : null;
  if (!remux) args.push(...profile.deviceArgs);
  if (hw) args.push(...hw.inputArgs);
  // The display matrix is carried over instead of rotating the pixels (mp4 holds it).
  if (input.keepRotation) args.push('-noautorotate');
  args.push('-i', input.inputPath);
  args.push('-map', '0:v:0');
  // Cover art goes into mkv as an image attachment (-attach), not as a one-frame video track.
  const kept = input.streams?.filter(
    (s) => s.action !== 'drop' && !(s.kind === 'cover' && input.container === 'mkv'),
  );
  if (kept) for (const s of kept) args.push('-map', `0:${s.index}`);
  else args.push('-map', '0:a?', '-map', '0:s?');
  // Older plans name audio and subtitles only: fonts for styled subtitles follow implicitly.
  const implicitAttachments = input.container === 'mkv' && !input.allStreams;
  if (implicitAttachments) args.push('-map', '0:t?');
  if (remux) {
    // Remux only: the compliant video is copied bit for bit; only streams and container change.
    args.push('-c:v:0', 'copy');
  } else if (hw) {
    args.push(...hwVideoEncodeArgs(input, hw, tenBit));
  } else {
    args.push(...videoEncodeArgs(input, pixFmt, tenBit));
  }
  args.push(...streamCodecArgs(kept));
  if (implicitAttachments) args.push('-c:t', 'copy');
  const mappedAttachments = kept?.filter((s) => s.kind === 'attachment').length ?? 0;
  if (input.container === 'mkv') {
    (input.attachFiles ?? []).forEach((f, i) => {
      const at = `-metadata:s:t:${mappedAttachments + i}`;
      args.push('-attach', f.path, at, `mimetype=${f.mimetype}`, at, `filename=${f.filename}`);
    });
  }
  args.push('-map_metadata', '0', '-map_chapters', input.chapters === 'drop' ? '-1' : '0');
  // Sparse subtitle streams can otherwise overflow the muxer queue on long files.
  args.push('-max_muxing_queue_size', '4096');
  args.push(...containerArgs(input.container, profile), input.outputPath);
  const required = remux
    ? REMUX_REQUIRED
    : // Device frames carry their format from the scaler; -pix_fmt would ask for a download.
      [...ALWAYS_REQUIRED, ...profile.requiredArgs].filter((f) => !(hw && f === '-pix_fmt'));
  for (const flag of required) {
    if (!args.includes(flag)) {
      throw new EncodeProfileViolationError(profile.encoder, `the arguments lack ${flag}`);
    }
  }
  return args;
}

// A remux carries no video encoder flags, but everything an output must keep.
const REMUX_REQUIRED = ['-map_metadata', '-map_chapters', '-max_muxing_queue_size', '-f'];

/** The hardware pipeline's filter chain (device deinterlacer and scaler) and encoder flags. */
function hwVideoEncodeArgs(input: EncodeArgsInput, hw: HwDecode, tenBit: boolean): string[] {
  const { profile } = input;
  // hwDecodeVerdict only allows plans that name their frame size.
  const size = input.frameSize!;
  const filters = [
    ...(input.deinterlace ? [hw.deinterlace(input.deinterlace.parity)] : []),
    hw.scale(size.width, size.height, tenBit),
  ];
  const args = ['-filter:v:0', filters.join(','), '-c:v', profile.encoder];
  args.push('-fps_mode', 'passthrough', ...profile.presetArgs);
  args.push(profile.quality.flag, String(qualityFor(profile, input.quality)));
  args.push(...profile.quality.extra, ...privateParams(profile, input.hdr10));
  if (input.hdr10) {
    args.push('-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc');
  }
  return args;
}

/**
 * Whether one source can be decoded on the profile's device: a GPU backend with a decode
 * pipeline, a codec it decodes, 4:2:0 at 8 bit (10 bit except h264), a 4:2:0 target, no
 * rotation to apply (the software rotate filter cannot take device frames). Pure; the encoder
 * still runs a trial decode before relying on it.
 */
export function hwDecodeVerdict(
  profile: EncodeProfile,
  source: { codec: string; pixFmt: string | null; rotation: number | null },
  target: { pixFmt?: string; keepRotation?: boolean; frameSize?: unknown },
): { ok: true } | { ok: false; why: string } {
  const hw = profile.hwDecode;
  if (!hw) return { ok: false, why: `${profile.encoder} has no hardware decode pipeline` };
  if (!target.frameSize)
    return { ok: false, why: 'the plan names no frame size for the device scaler' };
  if (!hw.codecs.includes(source.codec)) {
    return { ok: false, why: `${profile.backend} does not decode ${source.codec}` };
  }
  const fmt = source.pixFmt ?? '';
  const decodable =
    source.codec === 'h264' ? ['yuv420p', 'yuvj420p'] : ['yuv420p', 'yuvj420p', 'yuv420p10le'];
  if (!decodable.includes(fmt)) {
    return {
      ok: false,
      why: `${profile.backend} does not decode ${source.codec} in ${fmt || 'an unknown format'}`,
    };
  }
  if (target.pixFmt && !/^yuv420p(10le)?$/.test(target.pixFmt)) {
    return { ok: false, why: `the ${target.pixFmt} output needs software frames` };
  }
  if (source.rotation !== null && !target.keepRotation) {
    return { ok: false, why: 'the frames must be rotated, which the device pipeline cannot' };
  }
  return { ok: true };
}

/** A trial decode of a few frames on the profile's device; pure argument list. */
export function trialDecodeArgs(profile: EncodeProfile, inputPath: string): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-v',
    'error',
    ...profile.deviceArgs,
    ...(profile.hwDecode?.inputArgs ?? []),
    '-i',
    inputPath,
    '-map',
    '0:v:0',
    '-frames:v',
    '3',
    '-f',
    'null',
    '-',
  ];
}

/** The main video's filter chain, encoder, pixel format, preset, quality and HDR flags. */
function videoEncodeArgs(input: EncodeArgsInput, pixFmt: string, tenBit: boolean): string[] {
  const { profile } = input;
  const args: string[] = [];
  // Most encoders refuse odd widths or heights with 4:2:0 chroma; never upscale.
  const filters = [
    // Fields are weaved back into frames before scaling, which would blend them.
    ...(input.deinterlace
      ? [`bwdif=mode=send_frame:parity=${input.deinterlace.parity}:deint=all`]
      : []),
    input.frameSize
      ? `scale=${input.frameSize.width}:${input.frameSize.height}`
      : input.maxHeight
        ? `scale=w=-2:h='trunc(min(ih,${Math.floor(input.maxHeight)})/2)*2'`
        : 'scale=trunc(iw/2)*2:trunc(ih/2)*2',
  ];
  if (profile.uploadFilter) {
    filters.push(tenBit ? profile.uploadFilter.tenBit : profile.uploadFilter.eightBit);
  }
  // The filter is for the main video only: cover art mapped into mp4 is copied, not filtered.
  args.push('-filter:v:0', filters.join(','), '-c:v', profile.encoder, '-pix_fmt', pixFmt);
  // Variable frame rate stays variable: mp4 would otherwise duplicate frames up to a constant rate.
  args.push('-fps_mode', 'passthrough');
  args.push(...profile.presetArgs);
  args.push(profile.quality.flag, String(qualityFor(profile, input.quality)));
  args.push(...profile.quality.extra);
  args.push(...privateParams(profile, input.hdr10));
  if (input.hdr10) {
    args.push('-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc');
  }
  return args;
}

// ffmpeg's own Opus encoder is experimental; libopus is the one to use.
const AUDIO_ENCODERS: Record<string, string> = { opus: 'libopus' };

function streamCodecArgs(kept: readonly StreamPlan[] | undefined): string[] {
  if (!kept) return ['-c:a', 'copy', '-c:s', 'copy'];
  // Output stream 0 is the video; kept streams follow in the order they were mapped.
  return kept.flatMap((s, i) => {
    const out = i + 1;
    // mp4 marks cover art by disposition; copying alone may not carry it.
    if (s.kind === 'cover') return [`-c:${out}`, 'copy', `-disposition:${out}`, 'attached_pic'];
    if (s.action === 'copy' || !s.codec) return [`-c:${out}`, 'copy'];
    const rate = s.bitrateKbps ? [`-b:${out}`, `${s.bitrateKbps}k`] : [];
    return [`-c:${out}`, AUDIO_ENCODERS[s.codec] ?? s.codec, ...rate];
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
        ...(profile.mp4Tag ? ['-tag:v:0', profile.mp4Tag] : []),
        '-movflags',
        '+faststart',
        '-f',
        'mp4',
      ];
    case 'mkv':
      return ['-f', 'matroska'];
  }
}

/**
 * The cover art an mkv output attaches, one file per kept cover stream, named as players expect
 * (`cover.png`, then `cover-<index>.png`); `dir` is where they are extracted. Pure.
 */
export function coverArtFiles(
  streams: readonly StreamPlan[] | undefined,
  container: 'mkv' | 'mp4',
  prefix: string,
): (AttachFile & { index: number })[] {
  if (container !== 'mkv') return [];
  return (streams ?? [])
    .filter((s) => s.kind === 'cover' && s.action !== 'drop')
    .map((s, i) => ({
      index: s.index,
      path: `${prefix}.cover-${s.index}.png`,
      mimetype: 'image/png',
      filename: i === 0 ? 'cover.png' : `cover-${s.index}.png`,
    }));
}

/** ffmpeg arguments that extract one cover art stream of `input` to a PNG at `path`. Pure. */
export function coverExtractArgs(input: string, index: number, path: string): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-y',
    '-v',
    'error',
    '-i',
    input,
    '-map',
    `0:${index}`,
    '-frames:v',
    '1',
    '-c:v',
    'png',
    '-f',
    'image2',
    path,
  ];
}
