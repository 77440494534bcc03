/** Video codecs a plan can ask for. */
export type VideoCodec = 'hevc' | 'h264' | 'av1';

/** Where an encoder runs; slots are counted per device kind. */
export type Backend = 'cpu' | 'nvenc' | 'qsv' | 'vaapi';

/** Every ffmpeg video encoder conform has a manifest for. */
export type EncoderName =
  | 'libx265'
  | 'libx264'
  | 'libsvtav1'
  | 'hevc_nvenc'
  | 'h264_nvenc'
  | 'av1_nvenc'
  | 'hevc_qsv'
  | 'h264_qsv'
  | 'av1_qsv'
  | 'hevc_vaapi'
  | 'h264_vaapi';

/** How an encoder takes HDR10 mastering metadata beyond the colour tags every profile gets. */
export type HdrMetadataMode = 'x265-params' | 'tags-only';

/**
 * The manifest of one encoder: everything that differs between backends, as data. The wrapper
 * ({@link buildEncodeArgs}) adds what every encode must have and checks `requiredArgs`.
 */
export interface EncodeProfile {
  encoder: EncoderName;
  codec: VideoCodec;
  backend: Backend;
  /** Before `-i`: hardware device set-up. */
  deviceArgs: readonly string[];
  /** Appended to the software filter chain (hardware upload), or null. */
  uploadFilter: { eightBit: string; tenBit: string } | null;
  /** Speed/quality trade-off flags. */
  presetArgs: readonly string[];
  /** The constant-quality flag, its default and range; a plan's `quality` is clamped into it. */
  quality: { flag: string; default: number; min: number; max: number; extra: readonly string[] };
  /** Pixel formats for 8 and 10 bit; null tenBit means the encoder cannot do 10 bit. */
  pixFmt: { eightBit: string; tenBit: string | null };
  /**
   * Every output pixel format the encoder writes, as ffprobe names it in the output, mapped to
   * its `-pix_fmt` argument (`yuv420p10le` → `p010le` on NVENC, → `vaapi` on VAAPI).
   */
  formats: Readonly<Record<string, string>>;
  /** A private-options flag whose `:`-joined values the wrapper merges (x265-params, …). */
  privateParams: { flag: string; base: readonly string[] } | null;
  hdrMetadata: HdrMetadataMode;
  /** The mp4 sample entry players expect (hvc1 for Apple), or null for ffmpeg's default. */
  mp4Tag: string | null;
  /** Flags that must appear in the final argument list, or the build fails. */
  requiredArgs: readonly string[];
  /** Concurrent encodes the device sustains by default (consumer NVENC allows 5 sessions). */
  defaultSlots: number;
  /** Decoding on the same device (frames never leave it), or null for software decode only. */
  hwDecode: HwDecode | null;
}

/** A GPU backend's decode-and-filter pipeline: everything that differs from software decode. */
export interface HwDecode {
  /** Before `-i`: decode on the device and keep the frames there. */
  inputArgs: readonly string[];
  /** Source codecs (ffprobe names) the device decodes in 4:2:0; h264 in 8 bit only. */
  codecs: readonly string[];
  /** The device's scaler, to the plan's size and the encoder's surface format. */
  scale: (width: number, height: number, tenBit: boolean) => string;
  /** The device's deinterlacer, one frame per frame. */
  deinterlace: (parity: 'tff' | 'bff' | 'auto') => string;
}

const HW_CODECS = ['h264', 'hevc', 'mpeg2video', 'vc1', 'vp9', 'av1'] as const;
const CUDA_DECODE: HwDecode = {
  inputArgs: ['-hwaccel', 'cuda', '-hwaccel_output_format', 'cuda'],
  codecs: HW_CODECS,
  scale: (w, h, tenBit) => `scale_cuda=w=${w}:h=${h}:format=${tenBit ? 'p010le' : 'nv12'}`,
  deinterlace: (parity) => `yadif_cuda=mode=send_frame:parity=${parity}:deint=all`,
};
const QSV_DECODE: HwDecode = {
  inputArgs: ['-hwaccel', 'qsv', '-hwaccel_device', 'hw', '-hwaccel_output_format', 'qsv'],
  codecs: HW_CODECS,
  scale: (w, h, tenBit) => `scale_qsv=w=${w}:h=${h}:format=${tenBit ? 'p010' : 'nv12'}`,
  deinterlace: () => 'deinterlace_qsv',
};
const VAAPI_DECODE: HwDecode = {
  inputArgs: ['-hwaccel', 'vaapi', '-hwaccel_output_format', 'vaapi'],
  codecs: HW_CODECS,
  scale: (w, h, tenBit) => `scale_vaapi=w=${w}:h=${h}:format=${tenBit ? 'p010' : 'nv12'}`,
  deinterlace: () => 'deinterlace_vaapi=rate=frame',
};

const VAAPI_DEVICE = '/dev/dri/renderD128';
const identity = (...names: string[]) => Object.fromEntries(names.map((n) => [n, n]));
const nvenc = (encoder: EncoderName, codec: VideoCodec, tenBit: string | null): EncodeProfile => ({
  encoder,
  codec,
  backend: 'nvenc',
  deviceArgs: [],
  uploadFilter: null,
  presetArgs: ['-preset', 'p5', '-rc', 'vbr'],
  quality: {
    flag: '-cq',
    default: codec === 'h264' ? 23 : 28,
    min: 0,
    max: 51,
    extra: ['-b:v', '0'],
  },
  pixFmt: { eightBit: 'yuv420p', tenBit },
  // NVENC encodes 4:4:4 for H.264 and HEVC (8 bit; HEVC also 10 bit from 16-bit input).
  formats: {
    yuv420p: 'yuv420p',
    ...(tenBit ? { yuv420p10le: tenBit } : {}),
    ...(codec !== 'av1' ? { yuv444p: 'yuv444p' } : {}),
    ...(codec === 'hevc' ? { yuv444p10le: 'yuv444p16le' } : {}),
  },
  privateParams: null,
  hdrMetadata: 'tags-only',
  mp4Tag: codec === 'hevc' ? 'hvc1' : null,
  requiredArgs: ['-rc', '-cq', '-b:v'],
  defaultSlots: 3,
  hwDecode: CUDA_DECODE,
});
const qsv = (encoder: EncoderName, codec: VideoCodec, tenBit: string | null): EncodeProfile => ({
  encoder,
  codec,
  backend: 'qsv',
  deviceArgs: ['-init_hw_device', 'qsv=hw', '-filter_hw_device', 'hw'],
  uploadFilter: null,
  presetArgs: ['-preset', 'medium'],
  quality: { flag: '-global_quality', default: 25, min: 1, max: 51, extra: [] },
  pixFmt: { eightBit: 'nv12', tenBit },
  // 4:2:0 only: QSV's 4:4:4 formats exist on some chips only, so they are not relied upon.
  formats: { yuv420p: 'nv12', ...(tenBit ? { yuv420p10le: tenBit } : {}) },
  privateParams: null,
  hdrMetadata: 'tags-only',
  mp4Tag: codec === 'hevc' ? 'hvc1' : null,
  requiredArgs: ['-init_hw_device', '-global_quality'],
  defaultSlots: 2,
  hwDecode: QSV_DECODE,
});
const vaapi = (encoder: EncoderName, codec: VideoCodec): EncodeProfile => ({
  encoder,
  codec,
  backend: 'vaapi',
  deviceArgs: ['-vaapi_device', VAAPI_DEVICE],
  // VAAPI encoders only take hardware frames: convert, then upload, after the software scale.
  uploadFilter: { eightBit: 'format=nv12,hwupload', tenBit: 'format=p010,hwupload' },
  presetArgs: ['-rc_mode', 'CQP'],
  quality: { flag: '-qp', default: 25, min: 1, max: 51, extra: [] },
  pixFmt: { eightBit: 'vaapi', tenBit: codec === 'hevc' ? 'vaapi' : null },
  formats: { yuv420p: 'vaapi', ...(codec === 'hevc' ? { yuv420p10le: 'vaapi' } : {}) },
  privateParams: null,
  hdrMetadata: 'tags-only',
  mp4Tag: codec === 'hevc' ? 'hvc1' : null,
  requiredArgs: ['-vaapi_device', '-qp'],
  defaultSlots: 2,
  hwDecode: VAAPI_DECODE,
});

/** The manifest of every backend, keyed by encoder name. */
export const ENCODE_PROFILES: Readonly<Record<EncoderName, EncodeProfile>> = {
  // CRF 26 at preset fast: close to a typical h264 source at about half the size, at a speed a
  // home server's CPU sustains.
  libx265: {
    encoder: 'libx265',
    codec: 'hevc',
    backend: 'cpu',
    deviceArgs: [],
    uploadFilter: null,
    presetArgs: ['-preset', 'fast'],
    quality: { flag: '-crf', default: 26, min: 0, max: 51, extra: [] },
    pixFmt: { eightBit: 'yuv420p', tenBit: 'yuv420p10le' },
    formats: identity('yuv420p', 'yuv420p10le', 'yuv422p', 'yuv422p10le', 'yuv444p', 'yuv444p10le'),
    privateParams: { flag: '-x265-params', base: ['log-level=error'] },
    hdrMetadata: 'x265-params',
    mp4Tag: 'hvc1',
    requiredArgs: ['-crf', '-x265-params'],
    defaultSlots: 1,
    hwDecode: null,
  },
  libx264: {
    encoder: 'libx264',
    codec: 'h264',
    backend: 'cpu',
    deviceArgs: [],
    uploadFilter: null,
    presetArgs: ['-preset', 'medium'],
    quality: { flag: '-crf', default: 21, min: 0, max: 51, extra: [] },
    // Debian's libx264 is built for 8 bit only; 10-bit h264 also plays almost nowhere.
    pixFmt: { eightBit: 'yuv420p', tenBit: null },
    formats: identity('yuv420p', 'yuv422p', 'yuv444p'),
    privateParams: null,
    hdrMetadata: 'tags-only',
    mp4Tag: null,
    requiredArgs: ['-crf'],
    defaultSlots: 1,
    hwDecode: null,
  },
  libsvtav1: {
    encoder: 'libsvtav1',
    codec: 'av1',
    backend: 'cpu',
    deviceArgs: [],
    uploadFilter: null,
    presetArgs: ['-preset', '8'],
    quality: { flag: '-crf', default: 32, min: 1, max: 63, extra: [] },
    pixFmt: { eightBit: 'yuv420p', tenBit: 'yuv420p10le' },
    // SVT-AV1 encodes 4:2:0 only.
    formats: identity('yuv420p', 'yuv420p10le'),
    privateParams: null,
    hdrMetadata: 'tags-only',
    mp4Tag: null,
    requiredArgs: ['-crf', '-preset'],
    defaultSlots: 1,
    hwDecode: null,
  },
  hevc_nvenc: nvenc('hevc_nvenc', 'hevc', 'p010le'),
  h264_nvenc: nvenc('h264_nvenc', 'h264', null),
  av1_nvenc: nvenc('av1_nvenc', 'av1', 'p010le'),
  hevc_qsv: qsv('hevc_qsv', 'hevc', 'p010le'),
  h264_qsv: qsv('h264_qsv', 'h264', null),
  av1_qsv: qsv('av1_qsv', 'av1', 'p010le'),
  hevc_vaapi: vaapi('hevc_vaapi', 'hevc'),
  h264_vaapi: vaapi('h264_vaapi', 'h264'),
};

/** Every manifest, GPU backends first (the order detection prefers). */
export const ALL_PROFILES: readonly EncodeProfile[] = (
  ['nvenc', 'qsv', 'vaapi', 'cpu'] as const
).flatMap((b) => Object.values(ENCODE_PROFILES).filter((p) => p.backend === b));

/** Every encoder name of the table: what `--encoder` and CONFORM_ENCODER accept besides `auto`. */
export const ENCODER_NAMES: readonly EncoderName[] = Object.keys(ENCODE_PROFILES) as EncoderName[];

export function isEncoderName(value: string): value is EncoderName {
  return Object.hasOwn(ENCODE_PROFILES, value);
}

/** The CPU encoder for each codec: always compiled into Debian's ffmpeg, the fallback. */
export const CPU_ENCODER: Readonly<Record<VideoCodec, EncoderName>> = {
  hevc: 'libx265',
  h264: 'libx264',
  av1: 'libsvtav1',
};
