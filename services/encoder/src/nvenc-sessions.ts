import { FfmpegFailedError, runFfmpeg } from '@conform/media';
import type { EncodeProfile } from './profiles.js';

// Consumer GeForce drivers cap concurrent NVENC sessions per host (3 before 2023, 5 from
// driver 530, 8 from 550, more since), counting every program's sessions (a Plex transcode
// too). Past the cap, opening a session fails with NV_ENC_ERR_OUT_OF_MEMORY (10), which
// ffmpeg reports as `OpenEncodeSessionEx failed: out of memory (10)`; older builds follow it
// with `No NVENC capable devices found` / `No capable devices found`.
const OUT_OF_SESSIONS = [
  /OpenEncodeSessionEx failed: out of memory \(10\)/i,
  /NV_ENC_ERR_OUT_OF_MEMORY/,
];

/** Whether a failed NVENC run failed for want of a free session (worth retrying later). */
export function isOutOfNvencSessions(stderrTail: readonly string[]): boolean {
  return stderrTail.some((line) => OUT_OF_SESSIONS.some((p) => p.test(line)));
}

/** How one concurrent trial session ended. */
export type SessionTrial = 'ok' | 'out-of-sessions' | 'failed';

/** The node's NVENC slots and why. */
export interface NvencSlotDecision {
  slots: number;
  /** The host's cap as measured, or null when no trial hit one. */
  cap: number | null;
  reason: string;
}

/**
 * From trial sessions run at once: when some were refused for want of a session, the ones that
 * opened are the host's cap, and the slots are the cap or the configured number if lower. No
 * refusal: no cap seen (slots as configured, else the default). Nothing opened for another
 * reason: the trials say nothing about sessions, the default stands. Pure.
 */
export function decideNvencSlots(
  trials: readonly SessionTrial[],
  configured: number | undefined,
  defaultSlots: number,
): NvencSlotDecision {
  const ok = trials.filter((t) => t === 'ok').length;
  const refused = trials.filter((t) => t === 'out-of-sessions').length;
  const wanted = configured ?? defaultSlots;
  if (refused === 0) {
    const why =
      ok === 0
        ? 'the trial sessions failed for another reason'
        : `${ok} concurrent trial sessions opened: no cap seen`;
    return { slots: wanted, cap: null, reason: why };
  }
  if (ok === 0) {
    return {
      slots: 1,
      cap: 0,
      reason: 'no NVENC session was free at start (other programs hold them all)',
    };
  }
  if (configured !== undefined && configured <= ok) {
    return { slots: configured, cap: ok, reason: `configured ${configured} (the cap is ${ok})` };
  }
  return {
    slots: ok,
    cap: ok,
    reason: `the driver allows ${ok} concurrent NVENC sessions on this host`,
  };
}

/** The argument list of one trial session: long enough (2 s of frames) that they overlap. */
export function sessionTrialArgs(profile: EncodeProfile): string[] {
  return [
    ...['-hide_banner', '-nostdin', '-v', 'error', ...profile.deviceArgs],
    ...['-re', '-f', 'lavfi', '-i', 'testsrc2=size=256x144:rate=25:duration=2'],
    ...['-c:v', profile.encoder, '-pix_fmt', profile.pixFmt.eightBit, '-f', 'null', '-'],
  ];
}

/** Opens `n` trial sessions at once with real ffmpeg runs and says how each ended. */
export async function probeNvencSessions(
  profile: EncodeProfile,
  n: number,
  signal?: AbortSignal,
): Promise<SessionTrial[]> {
  return Promise.all(
    Array.from({ length: n }, async (): Promise<SessionTrial> => {
      try {
        await runFfmpeg(sessionTrialArgs(profile), { signal });
        return 'ok';
      } catch (err) {
        if (err instanceof FfmpegFailedError && isOutOfNvencSessions(err.stderrTail)) {
          return 'out-of-sessions';
        }
        return 'failed';
      }
    }),
  );
}
