import { lastEventOf, type Bus, type WorkJob } from '@conform/bus';
import type { EventEnvelope, EventType } from '@conform/contracts';

/**
 * Events after a file's job that mean the job was handled (or is moot): an encode outcome, a
 * dead letter, the file gone or changed (the planner plans a changed file again).
 */
export const AFTER_JOB: readonly EventType[] = [
  'encode.completed',
  'encode.failed',
  'message.deadlettered',
  'file.removed',
  'file.changed',
  'file.moved',
];

/** One file's last job, as the log has it, and what came after it. */
export interface JobState {
  job: WorkJob;
  /** Stream sequence of the job's event in the log. */
  seq: number;
  /** Whether the router's consumer already acked it (so the router will not queue it again). */
  routed: boolean;
  /** Whether the work stream holds a message for the file now (queued or being encoded). */
  queued: boolean;
  /** Sequences of the {@link AFTER_JOB} events of the file (the last of each type). */
  after: readonly { type: EventType; seq: number; permanent?: boolean }[];
}

/**
 * Whether a job lost with the work stream must be queued again. Only a routed job (one the
 * router will not queue itself) that the work stream does not hold and that nothing in the
 * log has answered: an outcome after it means it was handled — encoded, failed for good, kept,
 * dead-lettered — and a finished plan is never queued again. Pure.
 */
export function needsRequeue(state: JobState): boolean {
  if (!state.routed || state.queued) return false;
  // A transient encode.failed is not an outcome: the plan went back to the queue after it.
  return !answered(state.after, state.seq);
}

/**
 * Whether a file's job at log sequence `seq` is answered: an event of {@link AFTER_JOB} after
 * it (a transient encode.failed aside). Pure.
 */
export function answered(after: JobState['after'], seq: number): boolean {
  return after.some((a) => a.seq > seq && a.permanent !== false);
}

/** The last event of each {@link AFTER_JOB} type of the file, from the log. */
export async function afterJob(bus: Pick<Bus, 'jsm'>, fileId: string): Promise<JobState['after']> {
  const found = await Promise.all(AFTER_JOB.map((type) => lastEventOf(bus, type, fileId)));
  return found.flatMap((f) =>
    f
      ? [
          {
            type: f.event.type,
            seq: f.seq,
            ...(f.event.type === 'encode.failed'
              ? { permanent: (f.event as EventEnvelope<'encode.failed'>).data.permanent }
              : {}),
          },
        ]
      : [],
  );
}

/**
 * Why a plan at log sequence `seq` is no longer a job, or null while it is: a newer plan of
 * the file supersedes it, or it was answered already. How the router stays idempotent when it
 * reads the log again from the start (a new NATS that holds only the replicated log).
 */
export async function planClosed(
  bus: Pick<Bus, 'jsm'>,
  planned: EventEnvelope<'file.planned'>,
  seq: number,
): Promise<string | null> {
  const [last, after] = await Promise.all([
    lastEventOf(bus, 'file.planned', planned.fileId),
    afterJob(bus, planned.fileId),
  ]);
  if (last && last.seq > seq) return 'a newer plan of the file supersedes it';
  if (answered(after, seq)) return 'it was handled already';
  return null;
}
