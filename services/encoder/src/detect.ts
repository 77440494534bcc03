import { listFfmpegEncoders, trialEncode } from '@conform/media';
import { NoEncoderError } from './errors.js';
import {
  ALL_PROFILES,
  CPU_ENCODER,
  ENCODE_PROFILES,
  type Backend,
  type EncodeProfile,
  type EncoderName,
  type VideoCodec,
} from './profiles.js';

/** What detection learned about one encoder on this machine. */
export interface EncoderAvailability {
  encoder: EncoderName;
  codec: VideoCodec;
  backend: Backend;
  /** Listed by `ffmpeg -encoders`. */
  compiled: boolean;
  /** A trial encode succeeded. */
  works: boolean;
  /** Why it works or not, in words for `conform doctor` and the log. */
  reason: string;
}

/** The one-frame-pair trial encode of a profile, written to the null muxer. Pure. */
export function trialArgs(profile: EncodeProfile): string[] {
  const filters = ['scale=trunc(iw/2)*2:trunc(ih/2)*2'];
  if (profile.uploadFilter) filters.push(profile.uploadFilter.eightBit);
  return [
    ...['-hide_banner', '-nostdin', '-v', 'error', ...profile.deviceArgs],
    ...['-f', 'lavfi', '-i', 'testsrc2=size=256x144:rate=25:duration=1', '-frames:v', '2'],
    ...['-vf', filters.join(','), '-c:v', profile.encoder, '-pix_fmt', profile.pixFmt.eightBit],
    ...['-f', 'null', '-'],
  ];
}

/**
 * Lists ffmpeg's encoders, then trial-encodes every profile that is compiled in: being
 * compiled in says nothing about a GPU and driver being there, only a real encode counts.
 * Encoders ffmpeg lacks (av1_nvenc before ffmpeg 6) are reported as such and never offered.
 */
export async function detectEncoders(
  opts: { signal?: AbortSignal; only?: readonly EncoderName[] } = {},
): Promise<EncoderAvailability[]> {
  const compiled = await listFfmpegEncoders();
  const result: EncoderAvailability[] = [];
  for (const profile of ALL_PROFILES) {
    if (opts.only && !opts.only.includes(profile.encoder)) continue;
    const base = { encoder: profile.encoder, codec: profile.codec, backend: profile.backend };
    if (!compiled.has(profile.encoder)) {
      result.push({ ...base, compiled: false, works: false, reason: 'not in this ffmpeg build' });
      continue;
    }
    const trial = await trialEncode(trialArgs(profile), { signal: opts.signal });
    result.push(
      trial.ok
        ? { ...base, compiled: true, works: true, reason: 'trial encode succeeded' }
        : { ...base, compiled: true, works: false, reason: `trial encode failed: ${trial.reason}` },
    );
  }
  return result;
}

let detected: Promise<EncoderAvailability[]> | null = null;

/** {@link detectEncoders} once per process: the hardware does not change while we run. */
export function detectEncodersOnce(): Promise<EncoderAvailability[]> {
  detected ??= detectEncoders().catch((err: unknown) => {
    detected = null;
    throw err;
  });
  return detected;
}

/** Which encoder a codec gets on this machine, and why. */
export interface EncoderChoice {
  profile: EncodeProfile;
  reason: string;
  /** True when a GPU encoder exists for the codec but none works, so the CPU is used. */
  cpuFallback: boolean;
}

/**
 * Picks the encoder for `codec`: a forced one if given (and it is for that codec), else the
 * first working GPU encoder in manifest order (NVENC, QSV, VAAPI), else the CPU encoder. Pure.
 */
export function chooseEncoder(
  codec: VideoCodec,
  availability: readonly EncoderAvailability[],
  forced: EncoderName | null = null,
): EncoderChoice {
  if (forced && ENCODE_PROFILES[forced].codec === codec) {
    return {
      profile: ENCODE_PROFILES[forced],
      reason: 'forced by configuration',
      cpuFallback: false,
    };
  }
  const gpu = availability.find((a) => a.codec === codec && a.backend !== 'cpu' && a.works);
  if (gpu) {
    return { profile: ENCODE_PROFILES[gpu.encoder], reason: gpu.reason, cpuFallback: false };
  }
  const cpu = availability.find((a) => a.encoder === CPU_ENCODER[codec]);
  if (cpu && !cpu.works && cpu.compiled) throw new NoEncoderError(`${codec}: ${cpu.reason}`);
  if (cpu && !cpu.compiled) throw new NoEncoderError(`${codec}: ${cpu.encoder} ${cpu.reason}`);
  const failedGpus = availability.filter((a) => a.codec === codec && a.backend !== 'cpu');
  const why = failedGpus.map((a) => `${a.encoder}: ${a.reason}`).join('; ');
  return {
    profile: ENCODE_PROFILES[CPU_ENCODER[codec]],
    reason: why ? `no working GPU encoder (${why})` : 'CPU encoder',
    cpuFallback: failedGpus.length > 0,
  };
}
