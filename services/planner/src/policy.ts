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
import { depthOf, outputPicture } from './picture.js';

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
const IMAGE_SUBTITLES = new Set(['hdmv_pgs_subtitle', 'dvd_subtitle', 'dvb_subtitle', 'xsub']);
const MP4_AUDIO = new Set(['aac', 'ac3', 'eac3', 'mp3', 'alac', 'opus', 'flac']);

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

  let container = containerFor(input.path, policy, reasons);
  const subtitles = keptStreams(media.streams, 'subtitle', policy.subtitles.keepLanguages);
  const images = subtitles.kept.filter((s) => IMAGE_SUBTITLES.has(s.codec));
  if (container === 'mp4' && images.length > 0) {
    const codecs = [...new Set(images.map((s) => s.codec))].join(', ');
    if (policy.subtitles.imageSubtitlesInMp4 === 'skip') {
      return skip(`image subtitles (${codecs}) cannot go in mp4 and the policy skips such files`);
    }
    reasons.push(`image subtitles (${codecs}) cannot go in mp4: output mkv instead`);
    container = 'mkv';
  }

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
  reasons.push(...picture.reasons);
  if (media.streams) {
    target.streams = [
      ...planAudio(media.streams, policy, container, reasons),
      ...planSubtitles(subtitles, container, reasons),
    ].sort((a, b) => a.index - b.index);
  }

  const estimate = estimateOutputBytes(input, policy, downscale, ceiling?.kbps ?? null);
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

function containerFor(path: string, policy: Policy, reasons: string[]): 'mkv' | 'mp4' {
  if (policy.container !== 'keep') return policy.container;
  const ext = extname(path).toLowerCase();
  if (MP4_EXTENSIONS.has(ext)) return 'mp4';
  if (ext !== '.mkv') reasons.push(`container ${ext || '(none)'} cannot be kept: output mkv`);
  return 'mkv';
}

function keptStreams(
  streams: StreamInfo[] | undefined,
  kind: StreamInfo['kind'],
  languages: string[],
): { kept: StreamInfo[]; dropped: StreamInfo[] } {
  const all = (streams ?? []).filter((s) => s.kind === kind);
  const wanted = (s: StreamInfo) =>
    languages.length === 0 || s.language === null || languages.includes(s.language);
  return { kept: all.filter(wanted), dropped: all.filter((s) => !wanted(s)) };
}

function planAudio(
  streams: StreamInfo[],
  policy: Policy,
  container: 'mkv' | 'mp4',
  reasons: string[],
): StreamPlan[] {
  const { keepLanguages, allowedCodecs, reencode } = policy.audio;
  let { kept, dropped } = keptStreams(streams, 'audio', keepLanguages);
  if (kept.length === 0 && dropped.length > 0) {
    // A film without sound is worse than one in the wrong language.
    const first = dropped[0]!;
    reasons.push(
      `no audio track in ${keepLanguages.join(', ')}: keeping track ${first.index} (${first.language ?? 'untagged'})`,
    );
    kept = [first];
    dropped = dropped.slice(1);
  }
  const plans: StreamPlan[] = dropped.map((s) => {
    reasons.push(`drop audio track ${s.index} (${s.language}): language not kept`);
    return { index: s.index, kind: 'audio', action: 'drop', codec: null, bitrateKbps: null };
  });
  for (const s of kept) {
    const notAllowed = allowedCodecs.length > 0 && !allowedCodecs.includes(s.codec);
    const notInMp4 = container === 'mp4' && !MP4_AUDIO.has(s.codec);
    if (notAllowed || notInMp4) {
      reasons.push(
        `re-encode audio track ${s.index} from ${s.codec} to ${reencode.codec} ${reencode.bitrateKbps} kbit/s: ${notAllowed ? 'codec not in the allowed list' : 'mp4 cannot hold it'}`,
      );
      plans.push({
        index: s.index,
        kind: 'audio',
        action: 'convert',
        codec: reencode.codec,
        bitrateKbps: reencode.bitrateKbps,
      });
    } else {
      plans.push({ index: s.index, kind: 'audio', action: 'copy', codec: null, bitrateKbps: null });
    }
  }
  return plans;
}

function planSubtitles(
  subtitles: { kept: StreamInfo[]; dropped: StreamInfo[] },
  container: 'mkv' | 'mp4',
  reasons: string[],
): StreamPlan[] {
  const plans: StreamPlan[] = subtitles.dropped.map((s) => {
    reasons.push(`drop subtitle track ${s.index} (${s.language}): language not kept`);
    return { index: s.index, kind: 'subtitle', action: 'drop', codec: null, bitrateKbps: null };
  });
  for (const s of subtitles.kept) {
    // Text subtitles change format to what the container holds; image ones only ever copy.
    const convertTo = IMAGE_SUBTITLES.has(s.codec)
      ? null
      : container === 'mp4' && s.codec !== 'mov_text'
        ? 'mov_text'
        : container === 'mkv' && s.codec === 'mov_text'
          ? 'subrip'
          : null;
    if (convertTo) {
      reasons.push(
        `convert subtitle track ${s.index} from ${s.codec} to ${convertTo} for ${container}`,
      );
      plans.push({
        index: s.index,
        kind: 'subtitle',
        action: 'convert',
        codec: convertTo,
        bitrateKbps: null,
      });
    } else {
      plans.push({
        index: s.index,
        kind: 'subtitle',
        action: 'copy',
        codec: null,
        bitrateKbps: null,
      });
    }
  }
  return plans;
}

/**
 * Source size × (bits the target codec needs ÷ bits the source codec needs, at most 1), × the
 * pixel ratio^0.75 when downscaling, capped at the resolution class's bit-rate ceiling.
 */
function estimateOutputBytes(
  input: PlanInput,
  policy: Policy,
  downscale: boolean,
  ceilingKbps: number | null,
): number | null {
  const video = input.media.video;
  if (!video || input.size <= 0) return null;
  const from = BITS_PER_QUALITY[video.codec] ?? UNKNOWN_CODEC_BITS;
  const to = BITS_PER_QUALITY[policy.video.codec]!;
  let estimate = input.size * Math.min(1, to / from);
  if (downscale && policy.video.maxHeight !== null && video.height > 0) {
    estimate *= Math.pow(policy.video.maxHeight / video.height, 1.5);
  }
  if (ceilingKbps !== null && input.media.durationSec !== null) {
    estimate = Math.min(estimate, (ceilingKbps * 1000 * input.media.durationSec) / 8);
  }
  return Math.round(estimate);
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
