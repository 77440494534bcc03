import { join } from 'node:path';
import type { EncodeTarget, EventEnvelope } from '@conform/contracts';
import type { ProbeOutcome } from '@conform/media';

/** The work directory inside each library; on the library's filesystem so the swap is a rename. */
export const WORK_DIR_NAME = '.conform-work';

/**
 * Where the output of one planned event goes. Deterministic, so a redelivery finds the
 * finished output of an earlier attempt instead of encoding twice.
 */
export function outputPathFor(
  library: string,
  fileId: string,
  plannedEventId: string,
  container: EncodeTarget['container'],
): string {
  return join(library, WORK_DIR_NAME, `${fileId}-${plannedEventId.slice(0, 12)}.${container}`);
}

/** The path ffmpeg writes; only a complete, fsynced output is renamed to the real name. */
export function partialPathFor(outputPath: string): string {
  return `${outputPath}.partial`;
}

/** What to do with one `file.planned`. */
export type EncodeAction =
  | { kind: 'ignore'; why: string }
  | { kind: 'already-encoded'; outputPath: string; target: EncodeTarget }
  | { kind: 'encode'; outputPath: string; partialPath: string; target: EncodeTarget };

/** Decides from the planned event and whether its output already exists. Pure. */
export function decideEncode(
  planned: EventEnvelope<'file.planned'>,
  outputExists: (outputPath: string) => boolean,
): EncodeAction {
  const { decision, target, library } = planned.data;
  if (decision !== 'encode') return { kind: 'ignore', why: `decision is ${decision}` };
  if (!target) return { kind: 'ignore', why: 'planned to encode but has no target' };
  const outputPath = outputPathFor(library, planned.fileId, planned.id, target.container);
  if (outputExists(outputPath)) return { kind: 'already-encoded', outputPath, target };
  return { kind: 'encode', outputPath, partialPath: partialPathFor(outputPath), target };
}

// ffmpeg messages that mean the input itself cannot be decoded; retrying will not change it.
const UNDECODABLE_PATTERNS = [
  /Invalid data found when processing input/i,
  /could not find codec parameters/i,
  /moov atom not found/i,
  /Decoder \(codec [^)]*\) not found/i,
  /No such file or directory/i,
  /Error while decoding stream/i,
];

/** Whether a failed encode is worth retrying. */
export type FailureVerdict = { permanent: true; reason: string } | { permanent: false };

/**
 * Classifies a failed ffmpeg run from its stderr tail and a probe of the source taken after
 * the failure: an unreadable source, or ffmpeg saying it cannot decode the input, is permanent;
 * anything else (a full disk, a crashed driver) may pass on another attempt.
 */
export function classifyFailure(stderrTail: string[], sourceProbe: ProbeOutcome): FailureVerdict {
  if (!sourceProbe.ok)
    return { permanent: true, reason: `source is unreadable: ${sourceProbe.reason}` };
  const undecodable = stderrTail.find((line) => UNDECODABLE_PATTERNS.some((p) => p.test(line)));
  if (undecodable)
    return { permanent: true, reason: `ffmpeg cannot decode the source: ${undecodable}` };
  return { permanent: false };
}
