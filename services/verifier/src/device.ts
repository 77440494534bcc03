import type { VerificationDecode } from '@conform/contracts';
import type { VideoFacts } from './facts.js';

/** Where the full decode pass runs: a GPU API or the CPU. */
export type DecodeDevice = VerificationDecode['device'];
type HwDevice = Exclude<DecodeDevice, 'software'>;

// The render node VAAPI encodes on (the encoder's `-vaapi_device`); one definition here for
// the verifier, which does not depend on the encoder's profiles.
const VAAPI_DEVICE = '/dev/dri/renderD128';

/**
 * Before `-i`: decode on the device and keep the frames there (the null muxer takes device
 * frames, so nothing is downloaded). Golden lists, tested as exact argument lists.
 */
export const DEVICE_INPUT_ARGS: Record<HwDevice, readonly string[]> = {
  cuda: ['-hwaccel', 'cuda', '-hwaccel_output_format', 'cuda'],
  qsv: [
    '-init_hw_device',
    'qsv=hw',
    '-hwaccel',
    'qsv',
    '-hwaccel_device',
    'hw',
    '-hwaccel_output_format',
    'qsv',
  ],
  vaapi: ['-hwaccel', 'vaapi', '-hwaccel_device', VAAPI_DEVICE, '-hwaccel_output_format', 'vaapi'],
};

/** The device an encoder ran on, from its ffmpeg name (`hevc_nvenc` → cuda); null for the CPU. Pure. */
export function encoderDevice(encoder: string): HwDevice | null {
  if (/_nvenc$/.test(encoder)) return 'cuda';
  if (/_qsv$/.test(encoder)) return 'qsv';
  if (/_vaapi$/.test(encoder)) return 'vaapi';
  return null;
}

// What the three APIs decode in hardware: 4:2:0, 8 bit, and 10 bit except for H.264.
const DEVICE_CODECS = ['hevc', 'av1', 'h264', 'vp9', 'mpeg2video', 'vc1'];
const DEVICE_FORMATS = ['yuv420p', 'yuvj420p', 'yuv420p10le'];

/**
 * The decode path the output's properties allow: the encode's device when it has one and
 * decodes this codec and format, else software with the reason. Pure; a trial decode on the
 * device still decides ({@link chooseDecodeDevice}).
 */
export function deviceVerdict(
  encoder: string,
  video: Pick<VideoFacts, 'codec' | 'pixFmt'> | null,
): { device: HwDevice } | { device: 'software'; reason: string } {
  const device = encoderDevice(encoder);
  if (encoder === 'copy') {
    return { device: 'software', reason: 'software decode (the video was copied, not encoded)' };
  }
  if (!device) {
    return { device: 'software', reason: `software decode (${encoder} encodes on the CPU)` };
  }
  const codec = video?.codec ?? 'unknown';
  const fmt = video?.pixFmt ?? 'an unknown format';
  if (!DEVICE_CODECS.includes(codec)) {
    return { device: 'software', reason: `software decode: ${device} does not decode ${codec}` };
  }
  if (!DEVICE_FORMATS.includes(fmt) || (codec === 'h264' && fmt === 'yuv420p10le')) {
    return {
      device: 'software',
      reason: `software decode: ${device} does not decode ${codec} in ${fmt}`,
    };
  }
  return { device };
}

/**
 * How every decode pass starts: errors only, and its progress (the frame count) every 5 s on
 * stdout. The one-pass run (onepass.ts) starts the same way.
 */
export const DECODE_PASS_HEAD: readonly string[] = [
  '-hide_banner',
  '-nostdin',
  '-v',
  'error',
  '-nostats',
  '-progress',
  'pipe:1',
  '-stats_period',
  '5',
];

/**
 * The full decode pass: every frame of the main video and every audio stream to the null
 * muxer, on the device or with ffmpeg's frame threads (one per core), reporting the frame
 * count on stdout (`-progress`). Pure argument list.
 */
export function decodePassArgs(device: DecodeDevice, path: string): string[] {
  return [
    ...DECODE_PASS_HEAD,
    ...(device === 'software' ? ['-threads', '0'] : DEVICE_INPUT_ARGS[device]),
    '-i',
    path,
    '-map',
    '0:v:0',
    '-map',
    '0:a?',
    '-f',
    'null',
    '-',
  ];
}

/** A trial decode of three frames on the device, as the encoder tries its hardware decode. Pure. */
export function trialDecodeArgs(device: HwDevice, path: string): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-v',
    'error',
    ...DEVICE_INPUT_ARGS[device],
    '-i',
    path,
    '-map',
    '0:v:0',
    '-frames:v',
    '3',
    '-f',
    'null',
    '-',
  ];
}
