import { execa } from 'execa';
import type { HealthReport } from '@conform/contracts';
import { ToolMissingError } from './errors.js';

/** A stretch of a source to decode: from `startSec`, for `lengthSec` (null: to the end). */
export interface HealthSegment {
  startSec: number;
  lengthSec: number | null;
}

const EDGE_SEC = 30;
const MIDDLE_SEC = 5;
const MAX_ERRORS_KEPT = 10;

/**
 * What a health check decodes. `quick`: the first and last 30 s and 5 s from the middle, where
 * damage shows (a broken start, a truncated end, a corrupt body); a file short enough that those
 * overlap is decoded whole, as is every file in `full` mode or of unknown duration. Pure.
 */
export function healthSegments(
  durationSec: number | null,
  mode: HealthReport['mode'],
): HealthSegment[] {
  if (mode === 'full' || durationSec === null || durationSec <= 2 * EDGE_SEC + MIDDLE_SEC) {
    return [{ startSec: 0, lengthSec: null }];
  }
  return [
    { startSec: 0, lengthSec: EDGE_SEC },
    { startSec: round3(durationSec / 2 - MIDDLE_SEC / 2), lengthSec: MIDDLE_SEC },
    { startSec: round3(durationSec - EDGE_SEC), lengthSec: EDGE_SEC },
  ];
}

/** `0-30 s, 58.5-63.5 s, 90-120 s`; `whole file (0-6 s)`. Pure. */
export function describeSegments(segments: HealthSegment[], durationSec: number | null): string {
  return segments
    .map((s) => {
      const end = s.lengthSec === null ? durationSec : s.startSec + s.lengthSec;
      const span = `${round3(s.startSec)}-${end === null ? 'end' : round3(end)} s`;
      return s.lengthSec === null && s.startSec === 0 ? `whole file (${span})` : span;
    })
    .join(', ');
}

/**
 * How far short of its promised length a decoded stretch fell, in words, or null when it did
 * not (tolerance: half a second or 5 %, whichever is more). Pure.
 */
export function shortfall(
  segment: HealthSegment,
  durationSec: number | null,
  decodedSec: number,
): string | null {
  if (durationSec === null) return null;
  const promised = Math.max(
    0,
    Math.min(segment.lengthSec ?? Infinity, durationSec - segment.startSec),
  );
  if (decodedSec >= promised - Math.max(0.5, promised * 0.05)) return null;
  return `decoded ${round3(decodedSec)} s of the ${round3(promised)} s from ${round3(segment.startSec)} s that the header promises (${round3(durationSec)} s in all): the file ends early`;
}

/**
 * Decodes the stretches of {@link healthSegments} (first video and every audio stream, to
 * nothing) and reports ffmpeg's error lines and any stretch that decoded short. Throws only
 * when ffmpeg is missing; a source ffmpeg cannot open at all is reported, not thrown.
 */
export async function checkHealth(
  path: string,
  durationSec: number | null,
  mode: HealthReport['mode'],
  opts: { signal?: AbortSignal } = {},
): Promise<HealthReport> {
  const segments = healthSegments(durationSec, mode);
  const errors: string[] = [];
  let errorCount = 0;
  let endsEarly: string | undefined;
  for (const segment of segments) {
    const result = await execa(
      'ffmpeg',
      [
        '-hide_banner',
        '-nostdin',
        '-v',
        'error',
        // No seek for the start: seeking a truncated mkv (its cues are at the end) fails outright.
        ...(segment.startSec > 0 ? ['-ss', String(segment.startSec)] : []),
        ...(segment.lengthSec === null ? [] : ['-t', String(segment.lengthSec)]),
        '-i',
        path,
        '-map',
        '0:v:0?',
        '-map',
        '0:a?',
        '-f',
        'null',
        '-',
        '-progress',
        'pipe:1',
        '-nostats',
      ],
      { reject: false, stdin: 'ignore', cancelSignal: opts.signal, forceKillAfterDelay: 2_000 },
    );
    if (result.code === 'ENOENT' && result.exitCode === undefined) {
      throw new ToolMissingError('ffmpeg');
    }
    if (result.isCanceled) throw opts.signal?.reason ?? new Error('health check aborted');
    const lines = String(result.stderr ?? '')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    if (result.exitCode !== 0 && lines.length === 0) lines.push(`ffmpeg exited ${result.exitCode}`);
    errorCount += lines.length;
    for (const line of lines) if (errors.length < MAX_ERRORS_KEPT) errors.push(line);
    endsEarly ??=
      shortfall(segment, durationSec, decodedSeconds(String(result.stdout ?? ''))) ?? undefined;
  }
  return {
    mode,
    checked: describeSegments(segments, durationSec),
    errors,
    errorCount,
    ...(endsEarly ? { endsEarly } : {}),
  };
}

/** The last `out_time_us` of ffmpeg's `-progress` output, in seconds (0 when none). */
function decodedSeconds(progress: string): number {
  const values = [...progress.matchAll(/^out_time_us=(\d+)$/gm)].map((m) => Number(m[1]));
  const last = values.at(-1);
  return last === undefined || !Number.isFinite(last) ? 0 : last / 1_000_000;
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
