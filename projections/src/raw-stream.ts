import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { createInbox, nanos, type Msg } from '@nats-io/transport-node';
import { EVENT_LOG_STREAM, isNotFound, type Bus } from '@conform/bus';

// The bulk reader of a replay or a bulk catch-up (bulk-load.ts): the whole log, in order, each
// message handed on as its stream sequence, subject and payload bytes and nothing more. The
// ordered consumer (stream.ts) builds a JsMsg per message and parses all nine fields of its
// reply subject; here a core subscription reads the sequences straight off the reply subject
// of an ephemeral pull consumer that needs no acks (docs/benchmarks/replay.md, fourth round:
// about a tenth less CPU on a replay's main thread, a twentieth on nats-server). What the
// ordered consumer would recover from — a lost message, a consumer gone, a connection that came
// back without our pulls — fails the load instead, with an error saying which: the projector
// retries its catch-up from the file's checkpoint, `conform replay` is run again.

/** Messages asked for per pull; a new pull goes out when half of what was asked has arrived. */
const PULL_BATCH = 5_000;
/** No message for this long while some are owed: the reader gives up. */
export const RAW_STALL_MS = 60_000;

/** Options of {@link streamRawEventLog}. */
export interface RawStreamOptions {
  /** First sequence to read; default 1. */
  fromSequence?: number;
  /** Last sequence to read; default: the stream's last when reading started. */
  toSequence?: number;
  /** Stops reading early (resolving with the last sequence read). */
  signal?: AbortSignal;
  /** For tests: how long without a message counts as a stall (default RAW_STALL_MS). */
  stallMs?: number;
  /** For tests: messages per pull (default PULL_BATCH). */
  pullBatch?: number;
}

/**
 * Hands every stored message from `fromSequence` to `toSequence` (or the stream's end) to
 * `onMessage` in stream order, synchronously inside the delivery. Resolves with the last
 * sequence read (0 when none); rejects when `onMessage` throws, a message is missing (the
 * consumer's delivery count skips), the server answers a pull with a status (the consumer was
 * deleted, …) or nothing arrives for `stallMs`. The consumer is deleted at the end; one left
 * behind by a crash goes away on its own after a minute of inactivity.
 */
export async function streamRawEventLog(
  bus: Bus,
  onMessage: (sequence: number, subject: string, data: Uint8Array) => void,
  opts: RawStreamOptions = {},
): Promise<number> {
  const info = await bus.jsm.streams.info(EVENT_LOG_STREAM).catch((err: unknown) => {
    if (isNotFound(err)) return null;
    throw err;
  });
  if (!info || info.state.messages === 0) return 0;
  const to = Math.min(opts.toSequence ?? info.state.last_seq, info.state.last_seq);
  const from = Math.max(1, opts.fromSequence ?? 1);
  if (to < from || opts.signal?.aborted) return 0;
  const consumer = await bus.jsm.consumers.add(EVENT_LOG_STREAM, {
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: from,
    mem_storage: true,
    num_replicas: 1,
    inactive_threshold: nanos(RAW_STALL_MS),
  });
  const batch = Math.max(1, opts.pullBatch ?? PULL_BATCH);
  const pullSubject = `$JS.API.CONSUMER.MSG.NEXT.${EVENT_LOG_STREAM}.${consumer.name}`;
  const inbox = createInbox();
  let last = 0;
  let delivered = 0;
  let owed = 0;
  let failure: unknown = null;
  let lastArrival = Date.now();
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let done = false;
  const stop = (err: unknown = null) => {
    if (done) return;
    done = true;
    failure ??= err;
    finish();
  };
  const pull = () => {
    bus.nc.publish(pullSubject, JSON.stringify({ batch }), { reply: inbox });
    owed += batch;
  };
  const onDelivery = (err: Error | null, msg: Msg) => {
    if (done) return;
    if (err) return stop(err);
    const ack = readAckSubject(msg.reply);
    if (!ack) {
      const status = msg.headers ? `${msg.headers.code} ${msg.headers.description}` : 'none';
      return stop(new Error(`the event log consumer answered a pull with status ${status}`));
    }
    if (ack.delivered !== delivered + 1) {
      return stop(
        new Error(`the event log reader lost messages after stream sequence ${String(last)}`),
      );
    }
    delivered = ack.delivered;
    owed--;
    try {
      if (ack.sequence <= to) {
        onMessage(ack.sequence, msg.subject, msg.data);
        last = ack.sequence;
      }
    } catch (e) {
      return stop(e);
    }
    lastArrival = Date.now();
    if (ack.sequence >= to || ack.pending === 0) return stop();
    if (owed <= batch / 2) pull();
  };
  const sub = bus.nc.subscribe(inbox, { callback: onDelivery });
  const abort = () => stop();
  opts.signal?.addEventListener('abort', abort, { once: true });
  const stallMs = opts.stallMs ?? RAW_STALL_MS;
  const watchdog = setInterval(
    () => {
      if (Date.now() - lastArrival > stallMs) {
        stop(new Error(`no message of the event log for ${String(stallMs)} ms`));
      }
    },
    Math.min(1_000, stallMs),
  );
  try {
    pull();
    pull();
    await finished;
  } finally {
    clearInterval(watchdog);
    opts.signal?.removeEventListener('abort', abort);
    sub.unsubscribe();
    await bus.jsm.consumers.delete(EVENT_LOG_STREAM, consumer.name).catch(() => undefined);
  }
  if (failure) throw failure;
  return last;
}

/** Where the dots of a reply subject are (reused: one subject is read at a time). */
const dots = new Int32Array(16);

/**
 * The stream sequence, delivery count and pending count of a JetStream reply subject:
 * `$JS.ACK.<stream>.<consumer>.<redelivered>.<sseq>.<cseq>.<time>.<pending>`, or the form with
 * domain and account hash in front (12 tokens or more). Null for anything else (a status).
 * Read in place, without splitting the subject: a replay reads a million of them, and the split
 * (nine strings each) was a sixth of its reading thread's CPU.
 */
export function readAckSubject(
  reply: string | undefined,
): { sequence: number; delivered: number; pending: number } | null {
  if (!reply?.startsWith('$JS.ACK.')) return null;
  let count = 0;
  for (let at = reply.indexOf('.'); at >= 0; at = reply.indexOf('.', at + 1)) {
    if (count === dots.length) break;
    dots[count++] = at;
  }
  // Tokens are `count + 1`; token i runs from dots[i - 1] + 1 to dots[i] (or the end).
  const tokens = count + 1;
  const at = tokens === 9 ? 5 : tokens >= 12 ? 7 : -1;
  if (at < 0) return null;
  const token = (i: number) => digits(reply, dots[i - 1]! + 1, i < count ? dots[i]! : reply.length);
  const sequence = token(at);
  const delivered = token(at + 1);
  const pending = token(at + 3);
  if (sequence < 0 || delivered < 0 || pending < 0) return null;
  return { sequence, delivered, pending };
}

/** The decimal number in `text[from, to)`, or -1 when it is empty, not digits or not safe. */
function digits(text: string, from: number, to: number): number {
  if (to <= from) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return Number.isSafeInteger(n) ? n : -1;
}
