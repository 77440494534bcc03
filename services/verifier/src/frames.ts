import type { VerificationCheck } from '@conform/contracts';
import { runTool } from './tool.js';

/**
 * Frames the output may differ from the source by: three (an encoder's delay, an edit list and
 * the leading B-frames of an open GOP a recording starts with, which no decoder can show, may
 * each cost one or two), or 0.01 % of a long film (17 frames of a 2-hour one, well under the
 * duration check's 0.5 %): what a frame count catches is frames lost in the middle or the end.
 */
export function frameToleranceFor(sourceFrames: number): number {
  return Math.max(3, Math.round(sourceFrames * 0.0001));
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
 * The main video's packets from its first keyframe on (a recording cut mid-GOP starts with
 * packets no decoder can show), read by demuxing the whole file without decoding: I/O-bound,
 * cheap next to a decode. Null when ffprobe cannot.
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
      '-show_entries',
      'packet=flags',
      '-of',
      'csv=p=0',
      path,
    ],
    opts,
  );
  if (result.exitCode !== 0) return null;
  return packetsFromKeyframe(result.stdout);
}

/** Packets from the first keyframe on, in ffprobe's one-flags-line-per-packet output. Pure. */
export function packetsFromKeyframe(stdout: string): number | null {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  const first = lines.findIndex((l) => l.startsWith('K'));
  return first === -1 ? null : lines.length - first;
}
