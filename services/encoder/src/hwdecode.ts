import type { EncodeTarget } from '@conform/contracts';
import { runFfmpeg, FfmpegFailedError, tryProbeMedia } from '@conform/media';
import { hwDecodeVerdict, trialDecodeArgs } from './decode-args.js';
import type { EncodeProfile } from './profiles.js';

/** How one file is decoded, and why. */
export interface DecodeChoice {
  hwDecode: boolean;
  reason: string;
}

/**
 * Decides per file whether to decode on the encoder's device: when the source and plan allow
 * it (pure {@link hwDecodeVerdict}) and a trial decode of a few frames there succeeds; else
 * software decode, with the reason (ffmpeg's own error for a failed trial). Read → decide.
 */
export async function chooseDecode(
  profile: EncodeProfile,
  inputPath: string,
  target: EncodeTarget,
  signal?: AbortSignal,
): Promise<DecodeChoice> {
  if (!profile.hwDecode || target.videoCopy) {
    return { hwDecode: false, reason: 'software decode (no device pipeline for this encoder)' };
  }
  const probe = await tryProbeMedia(inputPath, { signal });
  if (!probe.ok || !probe.media.video) {
    return { hwDecode: false, reason: 'software decode (the source did not probe)' };
  }
  const v = probe.media.video;
  const verdict = hwDecodeVerdict(
    profile,
    { codec: v.codec, pixFmt: v.pixFmt, rotation: v.rotation ?? null },
    target,
  );
  if (!verdict.ok) return { hwDecode: false, reason: `software decode: ${verdict.why}` };
  try {
    await runFfmpeg(trialDecodeArgs(profile, inputPath), { signal });
  } catch (err) {
    if (!(err instanceof FfmpegFailedError)) throw err;
    const said = err.stderrTail.at(-1) ?? `exit ${String(err.exitCode)}`;
    return {
      hwDecode: false,
      reason: `software decode: the trial decode on ${profile.backend} failed (${said})`,
    };
  }
  return { hwDecode: true, reason: `decoding on ${profile.backend}` };
}
