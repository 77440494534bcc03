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

/**
 * Where an ordered read of the log starts: everything, or a time. There is no "last per
 * subject": nats-server 2.9 answers the creation of such a consumer by listing every matching
 * subject of the stream inside the request (seconds at millions of subjects, holding up every
 * other request of the connection until they time out), so the last per file is folded here.
 */
export type ReadFrom = { all: true } | { since: Date };

/**
 * Every message on `subject` (a subject filter) with its stream sequence, oldest first, from
 * where `from` says: an ordered consumer read to the end of the log, then removed. Whether
 * there is anything to read comes from the consumer's own count at creation: a stream info
 * with `subjects_filter` would have the server list every matching subject.
 */
async function forEachMessage(
  bus: Pick<Bus, 'js'>,
  subject: string | null,
  from: ReadFrom,
  each: (subject: string, seq: number, data: Uint8Array) => void,
): Promise<void> {
  const consumer = await bus.js.consumers.get(EVENT_LOG_STREAM, {
    ...(subject !== null ? { filter_subjects: subject } : {}),
    ...('since' in from
      ? { deliver_policy: 'by_start_time' as const, opt_start_time: from.since.toISOString() }
      : {}),
  });
  try {
    for (let done = (await consumer.info(true)).num_pending === 0; !done;) {
      const batch = await consumer.fetch({ max_messages: 1000, expires: 2_000 });
      let got = 0;
      for await (const msg of batch) {
        got++;
        each(msg.subject, msg.seq, msg.data);
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
}

/**
 * Every valid event on `subject` (a subject filter) with its stream sequence, oldest first,
 * from where `from` says. Messages that are not valid events are skipped (the projector
 * reports them).
 */
export async function readEvents(
  bus: Pick<Bus, 'js' | 'jsm'>,
  subject: string,
  from: ReadFrom = { all: true },
): Promise<{ seq: number; event: EventEnvelope }[]> {
  const events: { seq: number; event: EventEnvelope }[] = [];
  await forEachMessage(bus, subject, from, (_subject, seq, data) => {
    const decoded = decodeEvent(data);
    if (decoded.ok) events.push({ seq, event: decoded.event });
  });
  return events;
}

/**
 * The last `type` event of every file, by file id, as {@link lastEventOf} reads one: a file
 * whose last message of that type is not a valid event of it has none. The whole log is read
 * and folded (see {@link ReadFrom}) with an ordered consumer, nothing left behind, and with no
 * filter subject: nats-server 2.9 counts a filtered consumer's pending messages at creation
 * by matching every subject of the log inside the request (2.4 s at 1,800,000 messages,
 * holding up every other request of the connection); unfiltered it is a subtraction, and the
 * other types are skipped by subject, unread.
 */
export async function lastEventsOfType<T extends EventType>(
  bus: Bus,
  type: T,
): Promise<Map<string, LastEvent<T>>> {
  const latest = new Map<string, LastEvent<T>>();
  const prefix = subjectFilterForType(type).slice(0, -1);
  await forEachMessage(bus, null, { all: true }, (subject, seq, data) => {
    if (!subject.startsWith(prefix)) return;
    const fileId = subject.slice(prefix.length);
    const decoded = decodeEvent(data);
    if (decoded.ok && decoded.event.type === type) {
      latest.set(fileId, { seq, event: decoded.event as EventEnvelope<T> });
    } else latest.delete(fileId);
  });
  return latest;
}
