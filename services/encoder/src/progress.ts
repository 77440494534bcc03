import type { EncodeProgressMessage, EventEnvelope } from '@conform/contracts';
import type { FfmpegProgress } from '@conform/media';

/** Lets one progress update through per interval. Pure apart from its own last-sent time. */
export class ProgressThrottle {
  private lastSentMs = -Infinity;
  constructor(private readonly intervalMs = 1_000) {}

  /** True when an update at `nowMs` may be sent; a final 100 % always passes. */
  admit(nowMs: number, percent: number | null): boolean {
    if (percent !== 100 && nowMs - this.lastSentMs < this.intervalMs) return false;
    this.lastSentMs = nowMs;
    return true;
  }
}

/** Seconds left at the current speed, or null when it cannot be told. Pure. */
export function etaSeconds(p: FfmpegProgress, durationSec: number | null): number | null {
  if (!durationSec || !p.speed || p.speed <= 0) return null;
  return Math.max(0, (durationSec - p.outTimeSec) / p.speed);
}

/** The verdict of the size guard on one progress update. */
export type SizeGuardVerdict =
  { stop: false } | { stop: true; projectedBytes: number; reason: string };

// Before this share of the encode, headers and the first GOP dominate and the projection lies.
const MIN_PERCENT_FOR_PROJECTION = 10;

/**
 * Stops an encode whose projected final size (bytes so far scaled by progress) exceeds
 * `limitBytes`: it would fail verification anyway, so the rest of the encode is wasted. Pure.
 */
export function sizeGuard(p: FfmpegProgress, limitBytes: number | null): SizeGuardVerdict {
  if (limitBytes === null || p.percent === null || p.outBytes === null) return { stop: false };
  if (p.percent < MIN_PERCENT_FOR_PROJECTION) return { stop: false };
  const projectedBytes = Math.round((p.outBytes * 100) / p.percent);
  if (projectedBytes <= limitBytes) return { stop: false };
  return {
    stop: true,
    projectedBytes,
    reason:
      `stopped at ${p.percent.toFixed(0)} %: projected output ${projectedBytes} bytes exceeds ` +
      `the size guard of ${limitBytes} bytes`,
  };
}

/**
 * The live progress message of one running encode (core NATS, `conform.progress.<fileId>`),
 * as the status page and `conform status` show it. Pure: the clock comes in as `now`.
 */
export function progressMessage(
  planned: EventEnvelope<'file.planned'>,
  run: { node: string; encoder: string; attempt: number },
  p: FfmpegProgress,
  now: Date,
): EncodeProgressMessage {
  const { library, path, durationSec } = planned.data;
  return {
    fileId: planned.fileId,
    library,
    path,
    node: run.node,
    encoder: run.encoder,
    attempt: run.attempt,
    percent: p.percent,
    fps: p.fps,
    speed: p.speed,
    etaSec: etaSeconds(p, durationSec),
    outTimeSec: p.outTimeSec,
    outBytes: p.outBytes,
    time: now.toISOString(),
  };
}

/** Milliseconds per phase of one run, measured from the end of the one before. */
export class Phases {
  readonly ms: Record<string, number> = {};
  /** Epoch milliseconds (sub-millisecond) at which each phase ended. */
  readonly at: Record<string, number> = {};
  private last = performance.now();
  mark(phase: string): void {
    const now = performance.now();
    this.ms[phase] = Math.round((now - this.last) * 10) / 10;
    this.at[phase] = Math.round((performance.timeOrigin + now) * 10) / 10;
    this.last = now;
  }
}
