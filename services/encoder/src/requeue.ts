import {
  EVENT_LOG_STREAM,
  isNotFound,
  lastEventOf,
  lastEventsOfType,
  openKeyValue,
  publishWork,
  WORK_STREAM,
  WORK_SUBJECT_PREFIX,
  type Bus,
  type WorkJob,
} from '@conform/bus';
import type { Logger } from 'pino';
import { afterJob, needsRequeue, type JobState } from './job-state.js';
import { routeFor, sizeClassOf, type RoutePreference } from './routing.js';

/** What {@link requeueLostWork} did. */
export interface RequeueSummary {
  /** Jobs queued again, by file id. */
  requeued: string[];
  /** Files whose last plan is an encode or remux, looked at. */
  considered: number;
  /** The log was not read: the work stream is the one the last complete check found whole. */
  skipped?: boolean;
}

/**
 * Where the router records which work stream its last complete check found whole (its creation
 * time). Only a lost stream loses jobs (they are acked after their outcome is in the log), and a
 * re-created stream has another creation time, so a start that finds the same stream skips the
 * check: a read of every plan in the log, and a few reads per plan, at each start.
 */
export const ENCODER_BUCKET = 'conform-encoder';
const WORK_CHECKED_KEY = 'work-stream-checked';

/**
 * Rebuilds the work stream from the event log: the `CONFORM_WORK` stream is a copy (the log is
 * the truth), so when it is lost — deleted, or a new NATS with only the replicated log — every
 * routed plan (and operator retry) with no outcome yet is queued again in its pool. Run by the
 * router at start; safe on every start and on several nodes at once: the work stream is read
 * before the log, so a job that finishes meanwhile has its outcome in the log by then; and the
 * message id is the router's, so a job queued twice within the dedupe window is stored once.
 */
export async function requeueLostWork(
  bus: Bus,
  prefer: RoutePreference,
  log: Logger,
  signal?: AbortSignal,
  opts: { replicas?: number } = {},
): Promise<RequeueSummary> {
  const stream = await bus.jsm.streams.info(WORK_STREAM).catch(() => null);
  const marker = await openKeyValue(bus, ENCODER_BUCKET, opts).catch((err: unknown) => {
    log.warn({ err, bucket: ENCODER_BUCKET }, 'no work-queue marker: checking the log to be sure');
    return null;
  });
  const checked = stream?.created ?? null;
  if (checked && marker && (await marker.get(WORK_CHECKED_KEY).catch(() => null)) === checked) {
    log.info({ created: checked }, 'work queue unchanged since its last check against the log');
    return { requeued: [], considered: 0, skipped: true };
  }
  const queued = await queuedFileIds(bus);
  const [planFloor, retryFloor] = await Promise.all([
    ackFloor(bus, 'router-file-planned'),
    ackFloor(bus, 'router-control-requested'),
  ]);
  const plans = await lastEventsOfType(bus, 'file.planned');
  const summary: RequeueSummary = { requeued: [], considered: 0 };
  for (const [fileId, plan] of plans) {
    if (signal?.aborted) break; // stopping: the next start checks again
    const pool = routeFor(plan.event, prefer);
    if (!pool) continue;
    summary.considered++;
    const retry = await lastEventOf(bus, 'control.requested', fileId);
    const retried =
      retry && retry.seq > plan.seq && retry.event.data.action === 'retry' ? retry : null;
    const job: WorkJob = retried ? retried.event : plan.event;
    const seq = retried ? retried.seq : plan.seq;
    const state: JobState = {
      job,
      seq,
      routed: seq <= (retried ? retryFloor : planFloor),
      queued: queued.has(fileId),
      after: await afterJob(bus, fileId),
    };
    if (!needsRequeue(state)) continue;
    await publishWork(bus.js, pool, sizeClassOf(plan.event), job);
    summary.requeued.push(fileId);
  }
  if (summary.requeued.length > 0) {
    log.warn(
      { requeued: summary.requeued.length, files: summary.requeued.slice(0, 20) },
      `the work queue had lost ${summary.requeued.length} job(s); queued them again from the event log`,
    );
  }
  // Recorded before the line that says the check is done (a stop right after it keeps it).
  if (checked && marker && !signal?.aborted) {
    await marker.put(WORK_CHECKED_KEY, checked).catch((err: unknown) => {
      log.warn({ err, bucket: ENCODER_BUCKET }, 'could not record the work-queue check');
    });
  }
  log.info(
    { considered: summary.considered, requeued: summary.requeued.length },
    'work queue checked against the log',
  );
  return summary;
}

/** File ids with a message in the work stream (last token of `conform.work.<pool>….<fileId>`). */
async function queuedFileIds(bus: Bus): Promise<Set<string>> {
  const info = await bus.jsm.streams.info(WORK_STREAM, {
    subjects_filter: `${WORK_SUBJECT_PREFIX}.>`,
  });
  return new Set(Object.keys(info.state.subjects ?? {}).map((s) => s.split('.').at(-1)!));
}

/** The stream sequence up to which the router's consumer acked everything; 0 if none yet. */
async function ackFloor(bus: Bus, durable: string): Promise<number> {
  try {
    return (await bus.jsm.consumers.info(EVENT_LOG_STREAM, durable)).ack_floor.stream_seq;
  } catch (err) {
    if (isNotFound(err)) return 0;
    throw err;
  }
}
