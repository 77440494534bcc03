import { DeliverPolicy } from '@nats-io/jetstream';
import { EVENT_LOG_STREAM, type Bus } from '@conform/bus';
import { decodeEvent, subjectFilterForType, type EventEnvelope } from '@conform/contracts';

/**
 * The last `file.planned` of the file at `path`, read straight from the event log (the last
 * message per file subject, so one per file), or null if no plan names that path. For
 * `conform retry PATH`, which must turn a path into a file id.
 */
export async function findLastPlannedByPath(
  bus: Bus,
  path: string,
): Promise<EventEnvelope<'file.planned'> | null> {
  const filter = subjectFilterForType('file.planned');
  const consumer = await bus.js.consumers.get(EVENT_LOG_STREAM, {
    filter_subjects: filter,
    deliver_policy: DeliverPolicy.LastPerSubject,
  });
  // The consumer's own count, not the stream's subject map (one entry per file: millions).
  if ((await consumer.info()).num_pending === 0) {
    await consumer.delete().catch(() => undefined);
    return null;
  }
  const messages = await consumer.consume();
  let found: EventEnvelope<'file.planned'> | null = null;
  try {
    for await (const msg of messages) {
      const decoded = decodeEvent(msg.data);
      if (decoded.ok && decoded.event.type === 'file.planned' && decoded.event.data.path === path) {
        found = decoded.event;
      }
      if (msg.info.pending === 0) break;
    }
  } finally {
    await messages.close();
  }
  return found;
}
