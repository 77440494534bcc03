import { decodeEvent, type EventEnvelope } from '@conform/contracts';
import { EVENT_LOG_STREAM, type Bus } from '@conform/bus';

/**
 * Every valid event on `subject` (a subject filter), oldest first, optionally only those
 * stored since `since`: an ordered consumer read to the end, then removed.
 */
export async function eventsOn(
  bus: Pick<Bus, 'js' | 'jsm'>,
  subject: string,
  opts: { since?: Date } = {},
): Promise<EventEnvelope[]> {
  const info = await bus.jsm.streams.info(EVENT_LOG_STREAM, { subjects_filter: subject });
  const events: EventEnvelope[] = [];
  if (Object.keys(info.state.subjects ?? {}).length === 0) return events;
  const consumer = await bus.js.consumers.get(EVENT_LOG_STREAM, {
    filter_subjects: subject,
    ...(opts.since
      ? { deliver_policy: 'by_start_time' as const, opt_start_time: opts.since.toISOString() }
      : {}),
  });
  try {
    for (let done = false; !done;) {
      const batch = await consumer.fetch({ max_messages: 1000, expires: 2_000 });
      let got = 0;
      for await (const msg of batch) {
        got++;
        const decoded = decodeEvent(msg.data);
        if (decoded.ok) events.push(decoded.event);
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
