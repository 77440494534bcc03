import type { EncodeProfile } from './profiles.js';

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
