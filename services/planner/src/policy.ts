import { createHash } from 'node:crypto';
import { extname } from 'node:path';
import type { EncodeTarget, MediaSummary, PlanDecision } from '@conform/contracts';
import { InvalidPolicyError } from './errors.js';

/** The quality policy the planner applies. */
export interface Policy {
  /** The video codec every file should end up in. */
  targetVideoCodec: 'hevc';
  /** Source extensions (lower case, with the dot) whose output stays mp4; the rest become mkv. */
  mp4Extensions: string[];
  /**
   * Expected output size as a fraction of the source size, by source video codec; `default`
   * for codecs not listed. HEVC at similar quality is commonly quoted at about half of H.264.
   */
  sizeRatio: Record<string, number> & { default: number };
}

/** The default policy: everything to HEVC, keeping mp4-family files in mp4. */
export const DEFAULT_POLICY: Policy = {
  targetVideoCodec: 'hevc',
  mp4Extensions: ['.mp4', '.m4v', '.mov'],
  sizeRatio: { h264: 0.5, mpeg2video: 0.3, mpeg4: 0.4, default: 0.6 },
};

/** The planner's verdict on one file. */
export interface FilePlan {
  decision: PlanDecision;
  reasons: string[];
  /** Set when decision is `encode`. */
  target: EncodeTarget | null;
  /** Source size (bit rate × duration) × the policy's size ratio; null when either is unknown. */
  estimatedOutputBytes: number | null;
}

/** Decides what to do with one probed file. Pure. */
export function planFile(media: MediaSummary, path: string, policy: Policy): FilePlan {
  if (!media.video) {
    return {
      decision: 'skip',
      reasons: ['no video stream'],
      target: null,
      estimatedOutputBytes: null,
    };
  }
  const codec = media.video.codec;
  if (codec === policy.targetVideoCodec) {
    return {
      decision: 'compliant',
      reasons: [`video codec is already ${policy.targetVideoCodec}`],
      target: null,
      estimatedOutputBytes: null,
    };
  }
  const container = policy.mp4Extensions.includes(extname(path).toLowerCase()) ? 'mp4' : 'mkv';
  return {
    decision: 'encode',
    reasons: [`video codec ${codec} is not ${policy.targetVideoCodec}`],
    target: { videoCodec: policy.targetVideoCodec, container },
    estimatedOutputBytes: estimateOutputBytes(media, policy),
  };
}

function estimateOutputBytes(media: MediaSummary, policy: Policy): number | null {
  if (media.bitRate === null || media.durationSec === null || !media.video) return null;
  const ratio = policy.sizeRatio[media.video.codec] ?? policy.sizeRatio.default;
  return Math.round(((media.bitRate * media.durationSec) / 8) * ratio);
}

/**
 * A short fingerprint of the effective policy: sha256 of its canonical JSON (keys sorted,
 * lists as given), so the same rules always give the same version whatever the key order.
 */
export function policyVersion(policy: Policy): string {
  return createHash('sha256').update(canonicalJson(policy)).digest('hex').slice(0, 12);
}

/** Throws {@link InvalidPolicyError} for a policy the planner cannot apply. */
export function assertValidPolicy(policy: Policy): void {
  for (const [codec, ratio] of Object.entries(policy.sizeRatio)) {
    if (!(Number.isFinite(ratio) && ratio > 0)) {
      throw new InvalidPolicyError(`sizeRatio.${codec} must be a positive number, got ${ratio}`);
    }
  }
  for (const ext of policy.mp4Extensions) {
    if (!/^\.[a-z0-9]+$/.test(ext)) {
      throw new InvalidPolicyError(`mp4Extensions entries look like ".mp4", got "${ext}"`);
    }
  }
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
