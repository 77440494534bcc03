import {
  decodeEvent,
  subjectFilterForType,
  type EventEnvelope,
  type EventType,
} from '@conform/contracts';
import { EVENT_LOG_STREAM, type Bus, type Latest } from '@conform/bus';

export { lastEventOf, type Latest } from '@conform/bus';

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
