import { execa } from 'execa';
import type { IdetSample } from '@conform/contracts';
import { ToolMissingError } from './errors.js';

const SAMPLE_FRAMES = 200;

/** The multi-frame counts of idet's summary line, or null if ffmpeg printed none. Pure. */
export function parseIdet(stderr: string): Omit<IdetSample, 'fromSec'> | null {
  const m =
    /Multi frame detection:\s*TFF:\s*(\d+)\s*BFF:\s*(\d+)\s*Progressive:\s*(\d+)\s*Undetermined:\s*(\d+)/.exec(
      stderr,
    );
  if (!m) return null;
  const [tff, bff, progressive, undetermined] = m.slice(1, 5).map(Number) as [
    number,
    number,
    number,
    number,
  ];
  return { frames: tff + bff + progressive + undetermined, tff, bff, progressive, undetermined };
}

/**
 * Where the sample starts: a third into the file (past intros and black), or the start of a
 * short or unknown-length one. Pure.
 */
export function idetStart(durationSec: number | null): number {
  return durationSec !== null && durationSec > 30 ? Math.round(durationSec / 3) : 0;
}

/**
 * Runs ffmpeg's idet over up to 200 frames of the first video stream. Null when ffmpeg could
 * not decode a frame there; throws only when ffmpeg is missing.
 */
export async function sampleInterlacing(
  path: string,
  durationSec: number | null,
  opts: { signal?: AbortSignal } = {},
): Promise<IdetSample | null> {
  const fromSec = idetStart(durationSec);
  const result = await execa(
    'ffmpeg',
    [
      '-hide_banner',
      '-nostdin',
      '-v',
      'info',
      ...(fromSec > 0 ? ['-ss', String(fromSec)] : []),
      '-i',
      path,
      '-map',
      '0:v:0',
      '-vf',
      'idet',
      '-frames:v',
      String(SAMPLE_FRAMES),
      '-an',
      '-f',
      'null',
      '-',
    ],
    { reject: false, stdin: 'ignore', cancelSignal: opts.signal, forceKillAfterDelay: 2_000 },
  );
  if (result.code === 'ENOENT' && result.exitCode === undefined)
    throw new ToolMissingError('ffmpeg');
  if (result.isCanceled) throw opts.signal?.reason ?? new Error('idet sample aborted');
  const counts = parseIdet(String(result.stderr ?? ''));
  return counts && counts.frames > 0 ? { fromSec, ...counts } : null;
}
