import {
  decodeEvent,
  subjectFilterForType,
  subjectFor,
  type EventEnvelope,
  type EventType,
} from '@conform/contracts';
import type { Bus } from './connection.js';
import { EVENT_LOG_STREAM, isNotFound } from './event-log.js';

/** The latest event of one type for one file, with its stream sequence. */
export interface Latest<T extends EventType> {
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
): Promise<Latest<T> | null> {
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

/** The last `type` event of every file, by file id: an ordered consumer, nothing left behind. */
export async function lastEventsOfType<T extends EventType>(
  bus: Bus,
  type: T,
): Promise<Map<string, Latest<T>>> {
  const filter = subjectFilterForType(type);
  const latest = new Map<string, Latest<T>>();
  const info = await bus.jsm.streams.info(EVENT_LOG_STREAM, { subjects_filter: filter });
  if (Object.keys(info.state.subjects ?? {}).length === 0) return latest;
  const consumer = await bus.js.consumers.get(EVENT_LOG_STREAM, {
    filter_subjects: filter,
    deliver_policy: 'last_per_subject',
  });
  try {
    for (let done = false; !done;) {
      const batch = await consumer.fetch({ max_messages: 1000, expires: 2_000 });
      let got = 0;
      for await (const msg of batch) {
        got++;
        const decoded = decodeEvent(msg.data);
        if (decoded.ok && decoded.event.type === type) {
          latest.set(decoded.event.fileId, {
            seq: msg.seq,
            event: decoded.event as EventEnvelope<T>,
          });
        }
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
  return latest;
}
