import { relative } from 'node:path';
import {
  defaultQualityPolicy,
  policyVersion as versionOf,
  type QualityPolicy,
} from '@conform/config';
import { checkFreeSpace, freeSpaceNeeded, isHdrTransfer } from '@conform/contracts';
import type { EncodeTarget, MediaSummary, PlanDecision } from '@conform/contracts';
import { matchesGlob } from '@conform/config';
import { outputContainer } from './container.js';
import { bitrateCeiling, estimateOutputBytes } from './estimate.js';
import { interlaceDecision } from './interlace.js';
import { depthOf, outputPicture } from './picture.js';
import { remuxPlan } from './remux.js';
import { keptStreams, planStreams } from './streams.js';

/** The quality policy the planner applies to one library (see @conform/config). */
export type Policy = QualityPolicy;

/** The policy when none is configured: every schema default (everything to HEVC, copy all). */
export const DEFAULT_POLICY: Policy = defaultQualityPolicy();

/** The version recorded in `file.planned`: a hash of the effective policy. */
export function policyVersion(policy: Policy): string {
  return versionOf(policy);
}

/** Everything a decision depends on besides the policy, as data. */
export interface PlanInput {
  library: string;
  path: string;
  /** Source size in bytes, from the discovery's stat. */
  size: number;
  media: MediaSummary;
  /** Free bytes on the library's filesystem; null when unknown (the guardrail is not applied). */
  freeBytes: number | null;
}

/** The planner's verdict on one file. */
export interface FilePlan {
  decision: PlanDecision;
  /** Every rule that shaped the decision, in the order applied. */
  reasons: string[];
  /** Set when decision is `encode`. */
  target: EncodeTarget | null;
  /** Estimated size of the output; null unless encoding. */
  estimatedOutputBytes: number | null;
  /** Free bytes the encode needs on the library's filesystem (shared rule); set when encoding. */
  diskNeededBytes?: number;
}

const MB = 1_000_000;
const GB = 1_000_000_000;

/** Decides what to do with one probed file. Pure: the same input and policy give the same plan. */
export function planFile(input: PlanInput, policy: Policy): FilePlan {
  const { media } = input;
  const reasons: string[] = [];
  const skip = (why: string): FilePlan => ({
    decision: 'skip',
    reasons: [...reasons, why],
    target: null,
    estimatedOutputBytes: null,
  });

  const rel = relative(input.library, input.path);
  const excludedBy = policy.exclude.find((glob) => matchesGlob(rel, glob));
  if (excludedBy !== undefined) return skip(`excluded by pattern "${excludedBy}"`);
  const video = media.video;
  if (!video) return skip('no video stream');
  if (input.size < policy.minimum.sizeMB * MB) {
    return skip(`size ${mb(input.size)} MB is below the minimum ${policy.minimum.sizeMB} MB`);
  }
  if (media.durationSec !== null && media.durationSec < policy.minimum.durationSec) {
    return skip(
      `duration ${round1(media.durationSec)} s is below the minimum ${policy.minimum.durationSec} s`,
    );
  }
  const hdr = isHdrTransfer(video.colorTransfer) ? video.colorTransfer : null;
  if (hdr && policy.video.hdr === 'skip')
    return skip(`HDR video (${hdr}) and the policy skips HDR`);
  const dynamic = video.hdr === 'hdr10+' || video.hdr === 'dolby-vision' ? video.hdr : null;
  if (dynamic && policy.video.dynamicHdr === 'skip') {
    return skip(
      `${dynamic === 'dolby-vision' ? 'Dolby Vision' : 'HDR10+'} source: a re-encode would lose its dynamic metadata, so it is left alone (video.dynamicHdr: skip; baseLayer encodes the HDR10 base layer only)`,
    );
  }

  const codecOk = policy.compliant.codecs.includes(video.codec);
  const downscale = policy.video.maxHeight !== null && video.height > policy.video.maxHeight;
  const ceiling = bitrateCeiling(video.width, video.height, policy.compliant.maxBitrateKbps);
  const kbps = media.bitRate === null ? null : Math.round(media.bitRate / 1000);
  const overCeiling = ceiling !== null && kbps !== null && kbps > ceiling.kbps;

  if (codecOk && !downscale && !overCeiling) {
    const why = [`video codec ${video.codec} is compliant`];
    if (ceiling && kbps !== null) {
      why.push(`bit rate ${kbps} kbit/s is within ${ceiling.kbps} kbit/s for ${ceiling.label}`);
    }
    // The video stays; the container or the stream rules may still ask for a remux.
    const remux = remuxPlan(input, policy, why);
    if (remux) return remux;
    return { decision: 'compliant', reasons: why, target: null, estimatedOutputBytes: null };
  }
  if (!codecOk) {
    reasons.push(
      `video codec ${video.codec} is not compliant (${policy.compliant.codecs.join(', ') || 'none listed'}): encode to ${policy.video.codec}`,
    );
  }
  if (downscale) {
    reasons.push(`height ${video.height} is above ${policy.video.maxHeight}: downscale`);
  }
  if (overCeiling) {
    reasons.push(`bit rate ${kbps} kbit/s is above ${ceiling.kbps} kbit/s for ${ceiling.label}`);
  }

  const subtitles = keptStreams(media.streams, 'subtitle', policy.subtitles.keepLanguages);
  const chosen = outputContainer(input, policy, subtitles, reasons);
  if ('skip' in chosen) return skip(chosen.skip);
  const container = chosen.container;

  const picture = outputPicture(
    video,
    policy,
    hdr !== null,
    downscale ? policy.video.maxHeight : null,
  );
  const target: EncodeTarget = {
    videoCodec: policy.video.codec,
    container,
    quality: { ...policy.video.quality },
    maxHeight: downscale ? policy.video.maxHeight : null,
    tenBit: depthOf(picture.pixFmt) === 10,
    keepHdr: hdr !== null,
    pixFmt: picture.pixFmt,
    frameSize: { width: picture.width, height: picture.height },
  };
  if (hdr) reasons.push(`HDR video (${hdr}): keep HDR10 colour metadata, 10-bit`);
  if (dynamic) {
    reasons.push(
      `${dynamic} source: encoding the HDR10 base layer only, its dynamic metadata is dropped (video.dynamicHdr: baseLayer)`,
    );
  }
  reasons.push(...picture.reasons);
  const rotation = video.rotation ?? null;
  if (rotation !== null) {
    if (container === 'mp4') {
      target.keepRotation = true;
      reasons.push(`display matrix (rotation ${rotation}°) kept on the output`);
    } else {
      if (Math.abs(rotation) % 180 === 90) {
        target.frameSize = { width: picture.height, height: picture.width };
      }
      reasons.push(
        `rotation ${rotation}°: mkv carries no display matrix, so the frames are rotated (${target.frameSize!.width}x${target.frameSize!.height})`,
      );
    }
  }
  const interlace = interlaceDecision(video, policy);
  if (interlace.deinterlace) target.deinterlace = interlace.deinterlace;
  reasons.push(...interlace.reasons);
  if (media.streams) {
    target.streams = planStreams(media, subtitles, policy, container, reasons);
    target.allStreams = true;
  }
  if (media.chapters !== undefined) {
    target.chapters = policy.streams.chapters;
    if (media.chapters > 0) {
      reasons.push(
        `${policy.streams.chapters === 'keep' ? 'keep' : 'drop'} ${media.chapters} chapter(s): policy streams.chapters is ${policy.streams.chapters}`,
      );
    }
  }

  const estimate = estimateOutputBytes(
    input,
    policy,
    downscale,
    ceiling?.kbps ?? null,
    target.streams,
  );
  if (estimate !== null) {
    const ratio = estimate / Math.max(input.size, 1);
    const savingPercent = Math.round((1 - ratio) * 100);
    if (ratio > policy.guardrails.maxOutputRatio) {
      return skip(
        `estimated output is ${round2(ratio)} of the source, above the limit ${policy.guardrails.maxOutputRatio}`,
      );
    }
    if (savingPercent < policy.guardrails.minSavingPercent) {
      return skip(
        `estimated saving ${savingPercent}% is below the minimum ${policy.guardrails.minSavingPercent}%`,
      );
    }
    reasons.push(`estimated saving ${savingPercent}% (${mb(input.size - estimate)} MB)`);
  }
  // The shared rule: the encoder waits for exactly this much. Not a skip, which would stay
  // until the file or the policy changed: the encoder pauses and resumes when space returns.
  const need = freeSpaceNeeded({
    estimatedOutputBytes: estimate,
    sourceBytes: input.size,
    reserveBytes: policy.guardrails.minFreeDiskGB * GB,
  });
  if (input.freeBytes !== null) {
    const space = checkFreeSpace(input.freeBytes, need, input.library);
    if (!space.ok) reasons.push(`${space.reason}: the encoder waits until there is room`);
  }
  return {
    decision: 'encode',
    reasons,
    target,
    estimatedOutputBytes: estimate,
    diskNeededBytes: need.bytes,
  };
}

function mb(bytes: number): number {
  return round1(bytes / MB);
}
function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
