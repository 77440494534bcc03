import { DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import { decodeEvent, subjectFilterForFile, type EventEnvelope } from '@conform/contracts';
import { EVENT_LOG_STREAM, isNotFound, type Bus } from '@conform/bus';

/** One stored message of the event log, decoded when it is a valid event. */
export interface StoredMessage {
  sequence: number;
  subject: string;
  /** The Conform-* and Nats-Msg-Id headers as stored, so the audit shows what `nats` shows. */
  headers: Record<string, string>;
  event: EventEnvelope | null;
  /** Why the message is not a valid event (null when it is). */
  error: string | null;
}

/** Options of {@link readEventLog}. */
export interface ReadEventLogOptions {
  /** One subject filter (nats-server 2.9 allows one per consumer); default every subject. */
  filterSubject?: string;
  /** First sequence to read; default 1. */
  fromSequence?: number;
  /** Stop after this sequence; default: the stream's last sequence when reading started. */
  toSequence?: number;
  /** Messages per batch handed to `onBatch`. */
  batchSize?: number;
}

/**
 * Reads the event log (or the part one subject filter selects) from a sequence up to the
 * stream's end at the time of the call, with an ordered consumer (no server-side state left
 * behind), handing over batches. Resolves with the last sequence read (0 when none).
 */
export async function readEventLog(
  bus: Bus,
  onBatch: (messages: StoredMessage[]) => void | Promise<void>,
  opts: ReadEventLogOptions = {},
): Promise<number> {
  const info = await bus.jsm.streams
    .info(EVENT_LOG_STREAM, opts.filterSubject ? { subjects_filter: opts.filterSubject } : {})
    .catch((err: unknown) => {
      if (isNotFound(err)) return null;
      throw err;
    });
  if (!info) return 0;
  const to = Math.min(opts.toSequence ?? info.state.last_seq, info.state.last_seq);
  const from = Math.max(1, opts.fromSequence ?? 1);
  if (to < from || info.state.messages === 0) return 0;
  if (opts.filterSubject) {
    const matching = Object.values(info.state.subjects ?? {}).reduce((s, n) => s + n, 0);
    if (matching === 0) return 0;
  }
  const consumer = await bus.js.consumers.get(EVENT_LOG_STREAM, {
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: from,
    ...(opts.filterSubject ? { filter_subjects: opts.filterSubject } : {}),
  });
  const batchSize = Math.max(1, opts.batchSize ?? 1_000);
  const messages = await consumer.consume({ max_messages: Math.min(batchSize * 2, 10_000) });
  let last = 0;
  let batch: StoredMessage[] = [];
  try {
    for await (const msg of messages) {
      if (msg.seq > to) break;
      batch.push(toStored(msg));
      last = msg.seq;
      const done = msg.seq >= to || msg.info.pending === 0;
      if (batch.length >= batchSize || done) {
        await onBatch(batch);
        batch = [];
      }
      if (done) break;
    }
  } finally {
    await messages.close().catch(() => undefined);
  }
  if (batch.length > 0) await onBatch(batch);
  return last;
}

/** Every stored message of one file, oldest first (subject filter `conform.evt.*.*.<fileId>`). */
export async function readFileHistory(bus: Bus, fileId: string): Promise<StoredMessage[]> {
  const all: StoredMessage[] = [];
  await readEventLog(bus, (batch) => void all.push(...batch), {
    filterSubject: subjectFilterForFile(fileId),
  });
  return all;
}

function toStored(msg: JsMsg): StoredMessage {
  const headers: Record<string, string> = {};
  if (msg.headers) {
    for (const [key, values] of msg.headers) headers[key] = values.join(', ');
  }
  const decoded = decodeEvent(msg.data);
  return {
    sequence: msg.seq,
    subject: msg.subject,
    headers,
    event: decoded.ok ? decoded.event : null,
    error: decoded.ok ? null : decoded.error,
  };
}
