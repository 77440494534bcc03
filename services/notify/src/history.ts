import type { EventEnvelope } from '@conform/contracts';
import { readEvents, type Bus } from '@conform/bus';

/**
 * Every valid event on `subject` (a subject filter), oldest first, optionally only those
 * stored since `since` (the bus's ordered read of the log).
 */
export async function eventsOn(
  bus: Pick<Bus, 'js' | 'jsm'>,
  subject: string,
  opts: { since?: Date } = {},
): Promise<EventEnvelope[]> {
  const read = await readEvents(bus, subject, opts.since ? { since: opts.since } : { all: true });
  return read.map((r) => r.event);
}
