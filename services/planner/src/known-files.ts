import { decodeEvent, type EventEnvelope } from '@conform/contracts';
import { EVENT_LOG_STREAM, type Bus } from '@conform/bus';
import type { ProbedFile } from './decide.js';

interface LastOfEachKind {
  probed?: { seq: number; event: EventEnvelope<'file.probed'> };
  planned?: { seq: number; event: EventEnvelope<'file.planned'> };
  unreadable?: number;
  replaced?: number;
  restored?: number;
  /** Policy versions of the latest file.kept and file.restored, for the held-back rule. */
  keptUnder?: string | null;
  restoredUnder?: string | null;
}

/**
 * Every file the event log has probed, with its latest plan: the last message of each
 * `conform.evt.file.*.<fileId>` subject, folded from an ordered read of the log (no
 * server-side state left behind). Files whose latest probe was followed by `file.unreadable`
 * are left out. Not a `last_per_subject` consumer: nats-server 2.9 creates one by listing
 * every matching subject inside the request (millions at 1,000,000 files: the request timed
 * the planner's start out, and held the connection's other requests up meanwhile).
 */
export async function readKnownFiles(bus: Bus): Promise<ProbedFile[]> {
  const latest = new Map<string, LastOfEachKind>();
  // No filter subject either, though only file events are read: nats-server 2.9 counts a
  // filtered consumer's pending messages at creation by matching every subject of the log,
  // inside the request (4.7 s at 1,800,000 messages); unfiltered it is a subtraction, and the
  // few other events are skipped by subject (see record), unread.
  const consumer = await bus.js.consumers.get(EVENT_LOG_STREAM, {});
  // Whether there is anything to read: the consumer's own count at creation. Asking the
  // stream for its subjects instead returns one entry per subject.
  if ((await consumer.info(true)).num_pending > 0) {
    let done = false;
    while (!done) {
      const batch = await consumer.fetch({ max_messages: 1000, expires: 2_000 });
      let got = 0;
      for await (const msg of batch) {
        got++;
        record(latest, msg.subject, msg.seq, msg.data);
        // The last subject's last message: stop now rather than wait for the fetch to expire.
        if (msg.info.pending === 0) {
          done = true;
          break;
        }
      }
      if (got === 0) done = true;
    }
  }
  await consumer.delete().catch(() => undefined);
  return [...latest.entries()].flatMap(([fileId, l]) => {
    if (!l.probed || (l.unreadable ?? 0) > l.probed.seq) return [];
    const planned = l.planned && l.planned.seq > l.probed.seq ? l.planned.event : null;
    const replacedSeq = l.replaced ?? 0;
    const settled =
      planned !== null && replacedSeq > l.planned!.seq && replacedSeq > (l.restored ?? 0);
    const history = {
      sizeGuardFailedUnder: l.keptUnder ?? null,
      restoredUnder: l.restoredUnder ?? null,
    };
    return [{ fileId, probed: l.probed.event, planned, settled, history }];
  });
}

function record(
  latest: Map<string, LastOfEachKind>,
  subject: string,
  seq: number,
  data: Uint8Array,
) {
  const [, , domain, action, fileId] = subject.split('.');
  if (domain !== 'file' || !fileId) return;
  const entry = latest.get(fileId) ?? {};
  latest.set(fileId, entry);
  switch (action) {
    case 'probed':
    case 'planned': {
      const decoded = decodeEvent(data);
      // An event that does not match its schema cannot be re-decided; the log keeps it for
      // audit. As the last of its subject it hides the earlier ones, as it always did.
      if (!decoded.ok) {
        if (action === 'probed') delete entry.probed;
        else delete entry.planned;
        return;
      }
      if (decoded.event.type === 'file.probed') entry.probed = { seq, event: decoded.event };
      if (decoded.event.type === 'file.planned') entry.planned = { seq, event: decoded.event };
      return;
    }
    case 'unreadable':
      entry.unreadable = seq;
      return;
    case 'replaced':
      entry.replaced = seq;
      return;
    case 'restored': {
      entry.restored = seq;
      const decoded = decodeEvent(data);
      if (decoded.ok && decoded.event.type === 'file.restored') {
        entry.restoredUnder = decoded.event.data.policyVersion ?? null;
      }
      return;
    }
    case 'kept': {
      const decoded = decodeEvent(data);
      if (decoded.ok && decoded.event.type === 'file.kept') {
        entry.keptUnder = decoded.event.data.policyVersion ?? null;
      }
      return;
    }
    default:
      return;
  }
}
