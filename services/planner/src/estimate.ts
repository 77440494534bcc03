import type { StreamPlan } from '@conform/contracts';
import type { PlanInput, Policy } from './policy.js';

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

/** The resolution class a frame belongs to: the smallest configured height it fits (5% slack). */
export function bitrateCeiling(
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
