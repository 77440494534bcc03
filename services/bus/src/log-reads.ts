// Reads of the event log by subject: the last event of a type for a file, every event on a
// subject in order.
import {
  decodeEvent,
  subjectFilterForType,
  subjectFor,
  type EventEnvelope,
  type EventType,
} from '@conform/contracts';
import type { Bus } from './connection.js';
import { EVENT_LOG_STREAM, isNotFound } from './event-log.js';

/** The last event of one type for one file, with its stream sequence (see lastEventOf). */
export interface LastEvent<T extends EventType> {
  seq: number;
  event: EventEnvelope<T>;
}

/**
 * The last `type` event recorded for `fileId`, or null: a direct read of one subject, which
 * is how a handler checks a file's history before acting. A message that is not a valid
 * event of that type counts as none.
 */
export async function lastEventOf<T extends EventType>(
  bus: Pick<Bus, 'jsm'>,
  type: T,
  fileId: string,
): Promise<LastEvent<T> | null> {
  try {
    const msg = await bus.jsm.streams.getMessage(EVENT_LOG_STREAM, {
      last_by_subj: subjectFor(type, fileId),
    });
    if (!msg) return null;
    const decoded = decodeEvent(msg.data);
    if (!decoded.ok || decoded.event.type !== type) return null;
    return { seq: msg.seq, event: decoded.event as EventEnvelope<T> };
  } catch (err) {
    if (isNotFound(err) || /no message found/i.test((err as Error).message)) return null;
    throw err;
  }
}

/** Where an ordered read of the log starts: everything, the last per subject, or a time. */
export type ReadFrom = { all: true } | { lastPerSubject: true } | { since: Date };

/**
 * Every valid event on `subject` (a subject filter) with its stream sequence, oldest first,
 * from where `from` says: an ordered consumer read to the end of the log, then removed.
 * Messages that are not valid events are skipped (the projector reports them).
 */
export async function readEvents(
  bus: Pick<Bus, 'js' | 'jsm'>,
  subject: string,
  from: ReadFrom = { all: true },
): Promise<{ seq: number; event: EventEnvelope }[]> {
  const events: { seq: number; event: EventEnvelope }[] = [];
  const info = await bus.jsm.streams.info(EVENT_LOG_STREAM, { subjects_filter: subject });
  if (Object.keys(info.state.subjects ?? {}).length === 0) return events;
  const consumer = await bus.js.consumers.get(EVENT_LOG_STREAM, {
    filter_subjects: subject,
    ...('lastPerSubject' in from ? { deliver_policy: 'last_per_subject' as const } : {}),
    ...('since' in from
      ? { deliver_policy: 'by_start_time' as const, opt_start_time: from.since.toISOString() }
      : {}),
  });
  try {
    for (let done = false; !done;) {
      const batch = await consumer.fetch({ max_messages: 1000, expires: 2_000 });
      let got = 0;
      for await (const msg of batch) {
        got++;
        const decoded = decodeEvent(msg.data);
        if (decoded.ok) events.push({ seq: msg.seq, event: decoded.event });
        if (msg.info.pending === 0) {
          done = true;
          break;
        }
      }
      if (got === 0) done = true;
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
  return events;
}

/** The last `type` event of every file, by file id: an ordered consumer, nothing left behind. */
export async function lastEventsOfType<T extends EventType>(
  bus: Bus,
  type: T,
): Promise<Map<string, LastEvent<T>>> {
  const latest = new Map<string, LastEvent<T>>();
  for (const { seq, event } of await readEvents(bus, subjectFilterForType(type), {
    lastPerSubject: true,
  })) {
    if (event.type === type) latest.set(event.fileId, { seq, event: event as EventEnvelope<T> });
  }
  return latest;
}
