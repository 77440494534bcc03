import { join } from 'node:path';
import {
  formatBytes,
  freeSpaceNeeded,
  type EncodeTarget,
  type EventEnvelope,
  type FreeSpaceNeed,
  type MediaSummary,
  type SourceStamp,
  WORK_DIR_NAME,
} from '@conform/contracts';
import { isHdr10, type ProbeOutcome, type VideoColour } from '@conform/media';
import type { EncodeArgsInput } from './args.js';
import type { EncodeProfile } from './profiles.js';

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

/**
 * Decides from the planned event and whether its output already exists. Pure. `runId` names
 * the output: the planned event's id, or a retry request's id so a retry encodes afresh.
 */
export function decideEncode(
  planned: EventEnvelope<'file.planned'>,
  outputExists: (outputPath: string) => boolean,
  runId: string = planned.id,
): EncodeAction {
  const { decision, target, library } = planned.data;
  if (decision !== 'encode' && decision !== 'remux') {
    return { kind: 'ignore', why: `decision is ${decision}` };
  }
  if (!target) return { kind: 'ignore', why: 'planned to encode but has no target' };
  const outputPath = outputPathFor(library, planned.fileId, runId, target.container);
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

// ffmpeg messages that mean the output cannot be written; only an operator can fix that.
const UNWRITABLE_PATTERNS = [
  /Read-only file system/i,
  /Permission denied/i,
  /Operation not permitted/i,
];

/** ffmpeg's way of saying the work folder's filesystem is full: wait for room, then encode. */
export function ranOutOfSpace(stderrTail: readonly string[]): boolean {
  return stderrTail.some((line) => /No space left on device|Disk quota exceeded/i.test(line));
}

/**
 * The free space this plan's encode needs: the planner's figure under the shared rule, or the
 * same rule without the policy's reserve for plans from before it was recorded. Pure.
 */
export function diskNeedFor(planned: EventEnvelope<'file.planned'>): FreeSpaceNeed {
  const { diskNeededBytes, estimatedOutputBytes, source } = planned.data;
  const rule = freeSpaceNeeded({ estimatedOutputBytes, sourceBytes: source.size, reserveBytes: 0 });
  if (diskNeededBytes === undefined || diskNeededBytes <= rule.bytes) return rule;
  // The planner's figure is above the bare rule only by the policy's reserve.
  return { bytes: diskNeededBytes, why: `the policy's reserve ${formatBytes(diskNeededBytes)}` };
}

/**
 * The source's colour as the planner's probe of this very version of the file (same size and
 * mtime) already says it, so the encode needs no ffprobe of its own; null when the probe is of
 * another version, predates colour probing, or the source is HDR10 (its mastering data comes
 * from the first frame, which only the encoder's own probe reads). Same fields and bit depth
 * rule as `probeVideoColour`. Pure.
 */
export function knownColour(
  probed: { source: SourceStamp; media: MediaSummary } | null,
  source: SourceStamp,
): VideoColour | null {
  const video = probed?.media.video;
  if (!probed || !video) return null;
  if (probed.source.size !== source.size || probed.source.mtimeMs !== source.mtimeMs) return null;
  if (video.colorTransfer === undefined || video.colorPrimaries === undefined) return null;
  const colour: VideoColour = {
    pixFmt: video.pixFmt,
    colorPrimaries: video.colorPrimaries,
    colorTransfer: video.colorTransfer,
    colorSpace: video.colorSpace ?? null,
    bitDepth: Number(video.pixFmt ? (/p(\d{2})(le|be)?$/.exec(video.pixFmt)?.[1] ?? 8) : 8),
    masterDisplay: null,
    maxCll: null,
  };
  return isHdr10(colour) ? null : colour;
}

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
  const unwritable = stderrTail.find((line) => UNWRITABLE_PATTERNS.some((p) => p.test(line)));
  if (unwritable)
    return { permanent: true, reason: `ffmpeg cannot write the output: ${unwritable}` };
  return { permanent: false };
}

/**
 * Resolves a plan's target against the chosen profile and the source's colour: the quality of
 * the profile's family, 10 bit when asked or when the source is 10 bit (today's behaviour),
 * HDR10 carried unless the plan says `keepHdr: false`. Pure.
 */
export function encodeSettingsFor(
  target: EncodeTarget,
  profile: EncodeProfile,
  colour: VideoColour,
): EncodeSettings {
  const hdr10 =
    target.keepHdr !== false && isHdr10(colour)
      ? { masterDisplay: colour.masterDisplay, maxCll: colour.maxCll }
      : null;
  const format = target.pixFmt ? outputFormatFor(profile, target.pixFmt) : null;
  return {
    profile,
    container: target.container,
    tenBit: target.tenBit ?? colour.bitDepth >= 10,
    hdr10,
    quality: qualityForBackend(target, profile),
    maxHeight: target.maxHeight ?? null,
    ...(target.streams ? { streams: target.streams } : {}),
    ...(format ? { pixFmt: format.pixFmt } : {}),
    ...(target.frameSize ? { frameSize: target.frameSize } : {}),
    ...(target.allStreams ? { allStreams: true } : {}),
    ...(target.chapters ? { chapters: target.chapters } : {}),
    ...(target.deinterlace ? { deinterlace: target.deinterlace } : {}),
    ...(target.videoCopy ? { videoCopy: true } : {}),
    ...(target.keepRotation ? { keepRotation: true } : {}),
    formatFallback: format?.fallback ?? null,
  };
}

/** The encode settings of one plan, and why the pixel format differs from the plan's, if it does. */
export type EncodeSettings = Omit<EncodeArgsInput, 'inputPath' | 'outputPath'> & {
  formatFallback: string | null;
};

/**
 * The output pixel format for a plan's: the plan's when the encoder writes it, else 4:2:0 of
 * the same depth (a GPU encoder without 4:4:4), else 8-bit 4:2:0; `fallback` says why. Pure.
 */
export function outputFormatFor(
  profile: EncodeProfile,
  wanted: string,
): { pixFmt: string; fallback: string | null } {
  if (profile.formats[wanted] !== undefined) return { pixFmt: wanted, fallback: null };
  const tenBit = /p10(le|be)?$/.test(wanted);
  for (const candidate of tenBit ? ['yuv420p10le', 'yuv420p'] : ['yuv420p']) {
    if (profile.formats[candidate] !== undefined) {
      return {
        pixFmt: candidate,
        fallback: `${profile.encoder} cannot encode ${wanted}: wrote ${candidate}`,
      };
    }
  }
  // Let the argument builder refuse it with its own error.
  return { pixFmt: wanted, fallback: null };
}

function qualityForBackend(target: EncodeTarget, profile: EncodeProfile): number | null {
  if (!target.quality) return null;
  switch (profile.backend) {
    case 'cpu':
      return target.quality.cpuCrf;
    case 'nvenc':
      return target.quality.nvencCq;
    case 'qsv':
      return target.quality.qsvQuality;
    case 'vaapi':
      return target.quality.vaapiQp;
  }
}

/** The size the output may reach: the plan's maxSizeRatio (default 1.0) of the source. */
export function sizeLimitFor(planned: EventEnvelope<'file.planned'>): number | null {
  const ratio = planned.data.limits?.maxSizeRatio ?? 1;
  if (!(planned.data.source.size > 0)) return null;
  return Math.floor(planned.data.source.size * ratio);
}

/** The projected and allowed output/source ratios of an encode the size guard stopped. Pure. */
export function sizeGuardOutcome(
  planned: EventEnvelope<'file.planned'>,
  projectedBytes: number,
): { measuredRatio: number; limitRatio: number } {
  const size = Math.max(1, planned.data.source.size);
  return {
    measuredRatio: Math.round((projectedBytes / size) * 10_000) / 10_000,
    limitRatio: planned.data.limits?.maxSizeRatio ?? 1,
  };
}
