// The one consume loop every service uses: pull, decode (tolerantly), hand to the handler, then
// ack, nak with delay, or dead-letter; re-create the consumer on failure. One job, kept whole
// because the ack rules (after the side effect, never before) are the delivery guarantee.
import type { Consumer, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  decodeEvent,
  fileIdFromSubject,
  type DomainEvent,
  type EventEnvelope,
} from '@conform/contracts';
import type { Logger } from 'pino';
import type { ConsumerSpec } from './consumers.js';
import { EVENT_LOG_STREAM } from './event-log.js';
import { DeferError, TransientError } from './errors.js';
import type { EventPublisher } from './publisher.js';
import { IdlePulls } from './idle-pulls.js';
import { SharedLookup } from './shared-lookup.js';
import { parseWorkSubject } from './work.js';

/** What a handler gets besides the event. */
export interface HandlerContext {
  /** Aborted when the worker stops: kill child processes, clean up, then throw. */
  signal: AbortSignal;
  /** 1 on first delivery. */
  attempt: number;
  streamSequence: number;
  /** When the stream stored the message (the NATS server's clock, not the producer's). */
  storedAt?: Date;
  log: Logger;
  /**
   * Publishes a follow-up event caused by the one being handled. Its id is derived from the
   * cause, so a re-run publishes a duplicate the stream drops; pass a `discriminator` (e.g. the
   * attempt) when a repeat is a new fact that must be recorded.
   */
  emit<E extends DomainEvent>(
    event: E,
    opts?: { discriminator?: string },
  ): Promise<EventEnvelope<E['type']>>;
}

export type EventHandler = (event: EventEnvelope, ctx: HandlerContext) => Promise<void>;

export interface WorkerOptions {
  js: JetStreamClient;
  publisher: EventPublisher;
  consumer: ConsumerSpec;
  handle: EventHandler;
  log: Logger;
  /** Stops pulling; running handlers see their ctx.signal aborted. */
  signal: AbortSignal;
  /** Messages handled at once by this process; each slot pulls one message when it is free. */
  slots?: number;
  /** How long one idle pull waits for a message. */
  pullExpiresMs?: number;
  /** Nak delay for failures that are not a TransientError with its own delay. */
  retryDelayMs?: number;
  /** Called after every message with what happened to it (for metrics and tests). */
  onOutcome?: (outcome: MessageOutcome) => void;
  /**
   * Awaited before every pull: a slot that waits here pulls nothing, so a paused service
   * leaves its messages in the queue for others (nats-server 2.9 has no consumer pause).
   */
  beforePull?: (signal: AbortSignal) => Promise<void>;
  /** Told when a pull loop fails (and is re-created) and when a pull works again: readiness. */
  onPullError?: (err: unknown) => void;
  onPullOk?: () => void;
}

/** What the worker did with one delivery. */
export type MessageOutcome =
  /** `eventId` and `fileId` name the message handled, so a caller can wait for that one. */
  | { kind: 'acked'; type: string; durationMs: number; eventId: string; fileId: string }
  | { kind: 'retried'; type: string; reason: string; delayMs: number }
  | { kind: 'returned'; type: string }
  | { kind: 'dead-lettered'; subject: string; reason: string };

const PAYLOAD_PREVIEW_BYTES = 4_096;

/**
 * Runs `slots` pull loops on one durable consumer until `signal` aborts. Each loop pulls a
 * single message, keeps it alive with in-progress acks while the handler runs, and acks
 * only after the handler (its side effect and follow-up events) succeeded. A failure is
 * naked with a delay; the last allowed delivery, or an invalid message, is dead-lettered.
 */
export async function runWorker(opts: WorkerOptions): Promise<void> {
  const slots = Math.max(1, opts.slots ?? 1);
  // A message brought for a loop that stopped meanwhile goes straight back.
  const idle = new IdlePulls<JsMsg>((msg) => msg.nak());
  const consumers = new SharedLookup(() =>
    opts.js.consumers.get(opts.consumer.stream ?? EVENT_LOG_STREAM, opts.consumer.durable),
  );
  await Promise.all(Array.from({ length: slots }, (_, i) => slotLoop(opts, i, idle, consumers)));
}

async function slotLoop(
  opts: WorkerOptions,
  slot: number,
  idle: IdlePulls<JsMsg>,
  consumers: SharedLookup<Consumer>,
): Promise<void> {
  const log = opts.log.child({ consumer: opts.consumer.durable, slot });
  while (!opts.signal.aborted) {
    const lookup = consumers.get();
    try {
      const consumer = await lookup;
      for await (const msg of pullOneAtATime(consumer, opts, idle)) {
        if (opts.signal.aborted) {
          msg.nak(); // pulled while stopping: give it straight back
          break;
        }
        await handleMessage(msg, opts, log);
      }
    } catch (err) {
      if (opts.signal.aborted) break;
      // The consumer vanished, the connection dropped, …: re-create it after a pause.
      consumers.forget(lookup);
      log.warn({ err }, 'pull loop failed; re-creating the consumer');
      opts.onPullError?.(err);
      await sleep(1_000, undefined, { signal: opts.signal }).catch(() => undefined);
    }
  }
}

async function* pullOneAtATime(
  consumer: Consumer,
  opts: WorkerOptions,
  idle: IdlePulls<JsMsg>,
): AsyncGenerator<JsMsg> {
  // nats.js refuses pulls shorter than a second.
  const expires = Math.max(1_000, opts.pullExpiresMs ?? 2_000);
  const start = (max: number) => consumer.fetch({ max_messages: max, expires });
  while (!opts.signal.aborted) {
    if (opts.beforePull) await opts.beforePull(opts.signal);
    if (opts.signal.aborted) return;
    // The loops of a consumer share its pulls (see IdlePulls): an idle one has one in flight.
    const msg = await idle.next(start, opts.signal);
    opts.onPullOk?.();
    if (msg) yield msg;
  }
}

async function handleMessage(msg: JsMsg, opts: WorkerOptions, log: Logger): Promise<void> {
  const { deliveryCount, streamSequence } = msg.info;
  const decoded = decodeEvent(msg.data);
  if (!decoded.ok && decoded.newer && deliveryCount < opts.consumer.maxDeliver) {
    // Written by an upgraded node in a rolling upgrade: leave it to an instance that reads it.
    const delayMs = opts.retryDelayMs ?? 5_000;
    log.warn({ subject: msg.subject, reason: decoded.error }, 'event of a newer version; returned');
    msg.nak(delayMs);
    opts.onOutcome?.({ kind: 'retried', type: 'unknown', reason: decoded.error, delayMs });
    return;
  }
  if (!decoded.ok) {
    await deadLetter(msg, opts, log, `invalid event: ${decoded.error}`, null);
    return;
  }
  const event = decoded.event;
  if (deliveryCount > opts.consumer.maxDeliver) {
    // The previous delivery died mid-handler (crash, kill): do not run it again.
    await deadLetter(
      msg,
      opts,
      log,
      `no success after ${opts.consumer.maxDeliver} deliveries`,
      event,
    );
    return;
  }

  const handlerAbort = new AbortController();
  const onStop = () => handlerAbort.abort(opts.signal.reason);
  opts.signal.addEventListener('abort', onStop, { once: true });
  const keepAlive = setInterval(() => msg.working(), Math.max(250, opts.consumer.ackWaitMs / 3));
  const started = Date.now();
  const eventLog = log.child({ type: event.type, fileId: event.fileId, seq: streamSequence });
  try {
    await opts.handle(event, {
      signal: handlerAbort.signal,
      attempt: deliveryCount,
      streamSequence,
      storedAt: msg.time,
      log: eventLog,
      emit: (next, emitOpts) =>
        opts.publisher.emit(next, {
          fileId: event.fileId,
          causation: event,
          discriminator: emitOpts?.discriminator,
        }),
    });
    await msg.ackAck();
    opts.onOutcome?.({
      kind: 'acked',
      type: event.type,
      durationMs: Date.now() - started,
      eventId: event.id,
      fileId: event.fileId,
    });
  } catch (err) {
    if (handlerAbort.signal.aborted) {
      msg.nak(); // stopped mid-work: another instance (or the next start) takes it at once
      eventLog.info('stopped while handling; returned the message to the queue');
      opts.onOutcome?.({ kind: 'returned', type: event.type });
      return;
    }
    const reason = (err as Error).message ?? String(err);
    if (deliveryCount >= opts.consumer.maxDeliver) {
      await deadLetter(
        msg,
        opts,
        eventLog,
        `failed ${deliveryCount} times; last: ${reason}`,
        event,
      );
      return;
    }
    const delayMs = err instanceof TransientError ? err.delayMs : (opts.retryDelayMs ?? 5_000);
    if (err instanceof DeferError) {
      eventLog.info({ why: reason, attempt: deliveryCount, delayMs }, 'deferred');
    } else {
      eventLog.warn({ err, attempt: deliveryCount, delayMs }, 'handler failed; will retry');
    }
    msg.nak(Math.ceil(delayMs)); // a fractional delay reaches the server as none at all
    opts.onOutcome?.({ kind: 'retried', type: event.type, reason, delayMs });
  } finally {
    clearInterval(keepAlive);
    opts.signal.removeEventListener('abort', onStop);
  }
}

/**
 * Records the message as a message.deadlettered event, then terminates it. If even that
 * publish fails, the message is naked so nothing is lost.
 */
async function deadLetter(
  msg: JsMsg,
  opts: WorkerOptions,
  log: Logger,
  reason: string,
  event: EventEnvelope | null,
): Promise<void> {
  const fileId =
    event?.fileId ?? fileIdFromSubject(msg.subject) ?? workFileId(msg.subject) ?? 'unknown';
  const payload = new TextDecoder().decode(msg.data.subarray(0, PAYLOAD_PREVIEW_BYTES));
  try {
    await opts.publisher.emit(
      {
        type: 'message.deadlettered',
        data: {
          subject: msg.subject,
          streamSequence: msg.info.streamSequence,
          consumer: opts.consumer.durable,
          deliveries: msg.info.deliveryCount,
          reason: reason.slice(0, 2_000),
          payload,
        },
      },
      {
        fileId,
        causation: event,
        discriminator: `${opts.consumer.durable}:${msg.info.streamSequence}`,
      },
    );
    msg.term();
    log.error({ subject: msg.subject, seq: msg.info.streamSequence, reason }, 'dead-lettered');
    opts.onOutcome?.({ kind: 'dead-lettered', subject: msg.subject, reason });
  } catch (err) {
    log.error({ err }, 'could not dead-letter; returning the message to the queue');
    msg.nak(opts.retryDelayMs ?? 5_000);
  }
}

/** The file id of a work subject (`conform.work.<pool>[.<sizeClass>].<fileId>`). */
function workFileId(subject: string): string | null {
  return parseWorkSubject(subject)?.fileId ?? null;
}
