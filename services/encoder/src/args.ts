import type { StreamPlan } from '@conform/contracts';
import { EncodeProfileViolationError } from './errors.js';
import type { EncodeProfile } from './profiles.js';
import { hwVideoEncodeArgs, videoEncodeArgs } from './video-args.js';

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
