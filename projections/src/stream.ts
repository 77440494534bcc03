import { DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import { decodeEventBatch, subjectFilterForFile, type EventEnvelope } from '@conform/contracts';
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
  /** Copy each message's headers into `headers`; default true (a replay needs none). */
  headers?: boolean;
}

/** Options of {@link streamEventLog}. */
export type StreamEventLogOptions = Pick<
  ReadEventLogOptions,
  'filterSubject' | 'fromSequence' | 'toSequence'
> & {
  /** Messages the consumer keeps in flight; default 5,000. */
  inFlight?: number;
  /** Stops reading early (resolving with the last sequence read, not rejecting). */
  signal?: AbortSignal;
};

/**
 * Hands every stored message (or the ones one subject filter selects) from a sequence up to
 * the stream's end at the time of the call to `onMessage`, in order, through an ordered
 * consumer (no server-side state left behind). Resolves with the last sequence read (0 when
 * none); rejects when the consumer stops early or `onMessage` throws.
 *
 * Built for long reads (bulk loads use the leaner streamRawEventLog, raw-stream.ts, which
 * fails where this one recovers): messages arrive through the consumer's
 * callback rather than an async iterator, and `onMessage` runs synchronously inside the
 * delivery, so the next pulls are already on the wire while it writes and nothing piles up in
 * memory behind a slow writer.
 */
export async function streamEventLog(
  bus: Bus,
  onMessage: (msg: JsMsg) => void,
  opts: StreamEventLogOptions = {},
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
  let last = 0;
  let done = false;
  let failure: unknown = null;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const stop = () => {
    done = true;
    finish();
  };
  if (opts.signal?.aborted) return 0;
  opts.signal?.addEventListener('abort', stop, { once: true });
  const messages = await consumer.consume({
    max_messages: Math.max(1, opts.inFlight ?? 5_000),
    callback: (msg) => {
      if (done) return;
      try {
        if (msg.seq <= to) {
          onMessage(msg);
          last = msg.seq;
        }
        done = msg.seq >= to || msg.info.pending === 0;
      } catch (err) {
        failure = err;
        done = true;
      }
      if (done) finish();
    },
  });
  try {
    const closed = messages.closed().then((err) => {
      if (!done) throw err ?? new Error('the event log reader stopped before the end');
    });
    await Promise.race([finished, closed]);
  } finally {
    opts.signal?.removeEventListener('abort', stop);
    await messages.close().catch(() => undefined);
  }
  if (failure) throw failure;
  return last;
}

/**
 * Like {@link streamEventLog}, handing over decoded messages in batches of `batchSize` to
 * `onBatch` (synchronous; reading waits while it runs). Resolves with the last sequence read.
 */
export async function readEventLog(
  bus: Bus,
  onBatch: (messages: StoredMessage[]) => void,
  opts: ReadEventLogOptions = {},
): Promise<number> {
  const batchSize = Math.max(1, opts.batchSize ?? 1_000);
  const withHeaders = opts.headers ?? true;
  let raw: JsMsg[] = [];
  const flush = () => {
    if (raw.length === 0) return;
    const msgs = raw;
    raw = [];
    const decoded = decodeEventBatch(msgs.map((m) => m.data));
    onBatch(
      msgs.map((msg, i) => {
        const result = decoded[i]!;
        return {
          sequence: msg.seq,
          subject: msg.subject,
          headers: withHeaders ? headersOf(msg) : {},
          event: result.ok ? result.event : null,
          error: result.ok ? null : result.error,
        };
      }),
    );
  };
  const last = await streamEventLog(
    bus,
    (msg) => {
      raw.push(msg);
      if (raw.length >= batchSize) flush();
    },
    { ...opts, inFlight: Math.min(Math.max(batchSize, 1_000), 5_000) },
  );
  flush();
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

function headersOf(msg: JsMsg): Record<string, string> {
  const headers: Record<string, string> = {};
  if (msg.headers) {
    for (const [key, values] of msg.headers) headers[key] = values.join(', ');
  }
  return headers;
}
