import type { VerificationCheck } from '@conform/contracts';
import { runTool } from './tool.js';

/**
 * Frames the output may differ from the source by: two (an encoder's delay and an edit list
 * may cost one at either end), or 0.01 % of a long film (17 frames of a 2-hour one, well under
 * the duration check's 0.5 %): what a frame count catches is frames lost in the middle.
 */
export function frameToleranceFor(sourceFrames: number): number {
  return Math.max(2, Math.round(sourceFrames * 0.0001));
}

/**
 * The output decoded as many video frames as the source has packets (one per frame). The plan
 * changes no frame rate (variable rate passes through; bwdif sends one frame per frame), so
 * that is the expectation; a deinterlaced source whose fields are stored as packets of their
 * own (field-coded H.264) holds two per frame, which also passes. Pure.
 */
export function frameCountCheck(
  sourcePackets: number | null,
  outputFrames: number | null,
  deinterlaced: boolean,
): VerificationCheck {
  if (sourcePackets === null || sourcePackets <= 0) {
    return {
      name: 'frame-count',
      passed: false,
      measured: outputFrames,
      limit: 'source frame count unknown',
    };
  }
  const tolerance = frameToleranceFor(sourcePackets);
  const near = (want: number) =>
    outputFrames !== null && Math.abs(outputFrames - want) <= tolerance;
  const fieldPairs = deinterlaced && near(Math.round(sourcePackets / 2));
  return {
    name: 'frame-count',
    passed: near(sourcePackets) || fieldPairs,
    measured: outputFrames,
    limit: fieldPairs
      ? `${Math.round(sourcePackets / 2)}±${tolerance} (source fields as packets)`
      : `${sourcePackets}±${tolerance}`,
  };
}

/**
 * The main video's packet count, read by demuxing the whole file without decoding
 * (`ffprobe -count_packets`: I/O-bound, cheap next to a decode). Null when ffprobe cannot.
 */
export async function countVideoPackets(
  path: string,
  opts: { signal?: AbortSignal } = {},
): Promise<number | null> {
  const result = await runTool(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-count_packets',
      '-show_entries',
      'stream=nb_read_packets',
      '-of',
      'csv=p=0',
      path,
    ],
    opts,
  );
  const n = Number(result.stdout.trim().split('\n')[0]);
  return result.exitCode === 0 && Number.isInteger(n) && n > 0 ? n : null;
}
