import { backoffDelayMs, classifyFsError } from '@conform/bus';
import type { DomainEventOf, EventEnvelope } from '@conform/contracts';
import { FfmpegAbortedError, FfmpegFailedError, type ProbeOutcome } from '@conform/media';
import { classifyFailure, ranOutOfSpace, sizeGuardOutcome, type EncodeAction } from './decide.js';
import { OutputCommitError } from './errors.js';
import { isOutOfNvencSessions } from './nvenc-sessions.js';
import type { Backend } from './profiles.js';

/** A permanent `encode.failed`: retrying will not change it. Pure. */
export function permanentFailure(
  planned: EventEnvelope<'file.planned'>,
  encoder: string,
  reason: string,
): DomainEventOf<'encode.failed'> {
  const { library, path } = planned.data;
  return { type: 'encode.failed', data: { library, path, encoder, reason, permanent: true } };
}

/** Why a plan cannot be encoded on this node at all. Pure. */
export function noProfileFailure(
  planned: EventEnvelope<'file.planned'>,
  codec: string,
  node: string,
): DomainEventOf<'encode.failed'> {
  return permanentFailure(
    planned,
    'none',
    `no working ${codec} encoder on ${node} (see conform doctor)`,
  );
}

/**
 * A failure preparing the work folder: a permanent filesystem error (read-only, permissions)
 * is the plan's `encode.failed`; a full disk or anything transient is thrown on, to be waited
 * out or retried. Pure.
 */
export function workDirFailure(
  planned: EventEnvelope<'file.planned'>,
  encoder: string,
  err: unknown,
): DomainEventOf<'encode.failed'> | null {
  const verdict = classifyFsError(err);
  if (!verdict.permanent || verdict.code === 'ENOSPC') return null;
  return permanentFailure(planned, encoder, verdict.reason);
}

/** ffmpeg, or the output's commit, failed because the filesystem is full. Pure. */
export function outOfSpace(err: unknown): boolean {
  if (err instanceof FfmpegFailedError) return ranOutOfSpace(err.stderrTail);
  if (err instanceof OutputCommitError) return classifyFsError(err.cause).code === 'ENOSPC';
  return false;
}

/** What is known about one failed ffmpeg run (or its output's commit), as data. */
export interface EncodeFailureFacts {
  error: unknown;
  /** The worker's own signal: it is stopping, so the plan goes back as it is. */
  workerStopped: boolean;
  /** `pause --now` (the encode's local signal) stopped it. */
  pausedNow: boolean;
  /** What the size guard said when it stopped the encode. */
  sizeGuard: { reason: string; projectedBytes: number } | null;
  backend: Backend;
  encoder: string;
  attempt: number;
  /** Run number within this delivery (a run after waiting for room is its own fact). */
  run: number;
  retryDelayMs: number;
  /** A probe of the source taken after the failure; absent until the outcome asks for it. */
  sourceProbe?: ProbeOutcome;
}

/** What the encoder does about a failed run. */
export type EncodeOutcome =
  /** The worker is stopping: rethrow, the plan returns to the queue. */
  | { kind: 'stopped' }
  /** Publish this permanent `encode.failed` and ack. */
  | { kind: 'failed'; event: DomainEventOf<'encode.failed'>; warn: string | null }
  /** The work folder filled up: wait for twice the room, then run again. */
  | { kind: 'out-of-space' }
  /** `pause --now`: publish this requeue, then retry after `delayMs`. */
  | {
      kind: 'requeued';
      event: DomainEventOf<'encode.requeued'>;
      discriminator: string;
      message: string;
      delayMs: number;
    }
  /** Transient: nak with this delay. */
  | { kind: 'retry'; message: string; delayMs: number; warn: string | null }
  /** Whether it is permanent depends on the source: probe it, then decide again. */
  | { kind: 'probe-source' };

/**
 * Decides what a failed run leads to, in this order: the worker stopping, the size guard (not
 * worth encoding), a full disk, `pause --now`, NVENC out of sessions (transient, after the
 * retry delay), ffmpeg failing on an unreadable or undecodable source or an unwritable output
 * (permanent), a permanent filesystem error committing the output; anything else is retried
 * with back-off. Pure: the source probe comes in as data.
 */
export function decideEncodeFailure(
  planned: EventEnvelope<'file.planned'>,
  facts: EncodeFailureFacts,
): EncodeOutcome {
  const { library, path } = planned.data;
  const { error, encoder, attempt } = facts;
  if (facts.workerStopped) return { kind: 'stopped' };
  if (facts.sizeGuard) {
    return {
      kind: 'failed',
      warn: 'size guard stopped the encode',
      event: {
        type: 'encode.failed',
        data: {
          library,
          path,
          encoder,
          reason: facts.sizeGuard.reason,
          permanent: true,
          // The archiver turns this into file.kept: not worth encoding is not a failure.
          sizeGuard: sizeGuardOutcome(planned, facts.sizeGuard.projectedBytes),
          policyVersion: planned.data.policyVersion,
        },
      },
    };
  }
  if (outOfSpace(error)) return { kind: 'out-of-space' };
  if (facts.pausedNow || error instanceof FfmpegAbortedError) {
    return {
      kind: 'requeued',
      event: {
        type: 'encode.requeued',
        data: {
          library,
          path,
          reason: 'manual',
          detail: 'pause --now stopped the running encode; it starts again on resume',
          attempt,
          abandoned: true,
        },
      },
      discriminator: `now-${attempt}-${facts.run}`,
      message: `encoding ${path} was stopped by pause --now`,
      delayMs: 1_000,
    };
  }
  if (
    error instanceof FfmpegFailedError &&
    facts.backend === 'nvenc' &&
    isOutOfNvencSessions(error.stderrTail)
  ) {
    return {
      kind: 'retry',
      warn: 'no free NVENC session; the plan goes back to the queue',
      message:
        `no free NVENC session for ${path}: the driver's cap on concurrent sessions is ` +
        `reached (other encodes or a media server's transcodes); retrying in ` +
        `${Math.round(facts.retryDelayMs / 1000)} s`,
      delayMs: facts.retryDelayMs,
    };
  }
  if (error instanceof FfmpegFailedError) {
    if (!facts.sourceProbe) return { kind: 'probe-source' };
    const verdict = classifyFailure(error.stderrTail, facts.sourceProbe);
    if (verdict.permanent) {
      return {
        kind: 'failed',
        warn: 'cannot encode this file',
        event: permanentFailure(planned, encoder, verdict.reason),
      };
    }
  }
  if (error instanceof OutputCommitError) {
    const verdict = classifyFsError(error.cause);
    if (verdict.permanent) {
      return {
        kind: 'failed',
        warn: null,
        event: permanentFailure(planned, encoder, verdict.reason),
      };
    }
  }
  return {
    kind: 'retry',
    warn: null,
    message: `encoding ${path} failed: ${(error as Error).message}`,
    delayMs: backoffDelayMs(attempt, facts.retryDelayMs),
  };
}

/** What one finished encode measured. */
export interface EncodeMeasured {
  elapsedMs: number;
  fps: number | null;
}

/**
 * The `encode.completed` of a plan's output; `written` names the pixel format really written
 * when it differs from the plan's, so the verifier holds the output to it. Pure.
 */
export function completedEvent(
  planned: EventEnvelope<'file.planned'>,
  action: Pick<Extract<EncodeAction, { kind: 'encode' }>, 'outputPath' | 'target'>,
  encoder: string,
  measured: EncodeMeasured,
  outputSize: number,
  written: { pixFmt?: string; pixFmtReason?: string } = {},
): DomainEventOf<'encode.completed'> {
  const { library, path, source, policyVersion, limits, durationSec } = planned.data;
  return {
    type: 'encode.completed',
    data: {
      library,
      path,
      source,
      target: action.target,
      encoder,
      outputPath: action.outputPath,
      outputSize,
      elapsedMs: measured.elapsedMs,
      ...(measured.fps !== null ? { fps: measured.fps } : {}),
      policyVersion,
      ...(limits ? { limits } : {}),
      ...(durationSec !== null && durationSec > 0 ? { durationSec } : {}),
      ...written,
    },
  };
}
