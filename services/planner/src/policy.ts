import { extname, relative } from 'node:path';
import {
  defaultQualityPolicy,
  policyVersion as versionOf,
  type QualityPolicy,
} from '@conform/config';
import { checkFreeSpace, freeSpaceNeeded, isHdrTransfer } from '@conform/contracts';
import type {
  EncodeTarget,
  MediaSummary,
  PlanDecision,
  StreamInfo,
  StreamPlan,
} from '@conform/contracts';
import { matchesGlob } from '@conform/config';
import { interlaceDecision } from './interlace.js';
import { depthOf, outputPicture } from './picture.js';
import { remuxPlan } from './remux.js';
import { IMAGE_SUBTITLES, keptStreams, planStreams } from './streams.js';

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
const MP4_EXTENSIONS = new Set(['.mp4', '.m4v', '.mov']);

/**
 * Relative bits needed for the same picture quality, per codec (MPEG-2 = 1). Only ratios
 * matter: the rough consensus that HEVC needs about 60% of H.264's bit rate and AV1 about 45%.
 */
const BITS_PER_QUALITY: Record<string, number> = {
  mpeg2video: 1,
  mpeg1video: 1.1,
  mpeg4: 0.7,
  msmpeg4v3: 0.75,
  wmv3: 0.65,
  vc1: 0.65,
  h264: 0.5,
  vp8: 0.5,
  hevc: 0.3,
  vp9: 0.3,
  av1: 0.22,
};
const UNKNOWN_CODEC_BITS = 0.6;

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

/** The resolution class a frame belongs to: the smallest configured height it fits (5% slack). */
function bitrateCeiling(
  width: number,
  height: number,
  ceilings: Record<string, number>,
): { kbps: number; label: string } | null {
  const classes = Object.keys(ceilings)
    .map(Number)
    .sort((a, b) => a - b);
  // Wide films (1920x800) are 1080p: judge by width too, assuming a 16:9 class frame.
  const cls = classes.find((h) => height <= h * 1.05 && width <= ((h * 16) / 9) * 1.05);
  const chosen = cls ?? classes.at(-1);
  if (chosen === undefined) return null;
  return { kbps: ceilings[String(chosen)]!, label: `${chosen}p` };
}

/**
 * The output container: the policy's (or the source's under `keep`), switched to mkv when it
 * must hold image subtitles or attachments mp4 cannot; or why the file is skipped instead.
 */
export function outputContainer(
  input: PlanInput,
  policy: Policy,
  subtitles: { kept: StreamInfo[] },
  reasons: string[],
): { container: 'mkv' | 'mp4' } | { skip: string } {
  let container = containerFor(input.path, policy, reasons);
  const images = subtitles.kept.filter((s) => IMAGE_SUBTITLES.has(s.codec));
  if (container === 'mp4' && images.length > 0) {
    const codecs = [...new Set(images.map((s) => s.codec))].join(', ');
    if (policy.subtitles.imageSubtitlesInMp4 === 'skip') {
      return {
        skip: `image subtitles (${codecs}) cannot go in mp4 and the policy skips such files`,
      };
    }
    reasons.push(`image subtitles (${codecs}) cannot go in mp4: output mkv instead`);
    container = 'mkv';
  }
  const attachments = (input.media.streams ?? []).filter((s) => s.kind === 'attachment');
  if (container === 'mp4' && attachments.length > 0 && policy.streams.attachments === 'keep') {
    const names = attachments.map((s) => s.filename ?? `stream ${s.index}`).join(', ');
    reasons.push(
      `attachments (${names}) cannot go in mp4 and the policy keeps them: output mkv instead`,
    );
    container = 'mkv';
  }
  return { container };
}

/** The container the policy asks for; `keep` keeps mp4-family files in mp4, others go to mkv. */
export function containerFor(path: string, policy: Policy, reasons: string[]): 'mkv' | 'mp4' {
  if (policy.container !== 'keep') return policy.container;
  const ext = extname(path).toLowerCase();
  if (MP4_EXTENSIONS.has(ext)) return 'mp4';
  if (ext !== '.mkv') reasons.push(`container ${ext || '(none)'} cannot be kept: output mkv`);
  return 'mkv';
}

/**
 * Source size × (bits the target codec needs ÷ bits the source codec needs, at most 1), × the
 * pixel ratio^0.75 when downscaling, capped at the resolution class's bit-rate ceiling.
 */
export function estimateOutputBytes(
  input: PlanInput,
  policy: Policy,
  downscale: boolean,
  ceilingKbps: number | null,
  plans: readonly StreamPlan[] = [],
): number | null {
  const video = input.media.video;
  if (!video || input.size <= 0) return null;
  const from = BITS_PER_QUALITY[video.codec] ?? UNKNOWN_CODEC_BITS;
  const to = BITS_PER_QUALITY[policy.video.codec]!;
  // Only the video is re-encoded: copied streams keep their bytes, converted ones take their
  // new bit rate, dropped ones none. Streams of unknown rate count as video (the old estimate).
  const others = otherStreamBytes(input, plans);
  const videoBytes = Math.max(0, input.size - others.sourceBytes);
  let estimate = videoBytes * Math.min(1, to / from);
  if (downscale && policy.video.maxHeight !== null && video.height > 0) {
    estimate *= Math.pow(policy.video.maxHeight / video.height, 1.5);
  }
  if (ceilingKbps !== null && input.media.durationSec !== null) {
    estimate = Math.min(estimate, (ceilingKbps * 1000 * input.media.durationSec) / 8);
  }
  return Math.round(estimate + others.outputBytes);
}

/** Bytes of the non-video streams whose rate is known: in the source, and as the plan leaves them. */
function otherStreamBytes(
  input: PlanInput,
  plans: readonly StreamPlan[],
): { sourceBytes: number; outputBytes: number } {
  const duration = input.media.durationSec;
  if (duration === null) return { sourceBytes: 0, outputBytes: 0 };
  const byIndex = new Map(plans.map((p) => [p.index, p]));
  let sourceBytes = 0;
  let outputBytes = 0;
  for (const s of input.media.streams ?? []) {
    if (!s.bitRate) continue;
    const bytes = (s.bitRate * duration) / 8;
    sourceBytes += bytes;
    const plan = byIndex.get(s.index);
    if (!plan || plan.action === 'copy') outputBytes += bytes;
    else if (plan.action === 'convert') {
      outputBytes += plan.bitrateKbps ? (plan.bitrateKbps * 1000 * duration) / 8 : bytes;
    }
  }
  return { sourceBytes: Math.min(sourceBytes, input.size), outputBytes };
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
