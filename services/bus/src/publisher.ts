import {
  createInbox,
  headers,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import type { JetStreamClient } from '@nats-io/jetstream';
import {
  subjectFor,
  validateEvent,
  wrap,
  type DomainEvent,
  type EventEnvelope,
  type WrapOptions,
} from '@conform/contracts';
import { PublishError } from './errors.js';

/** What the stream said about a publish. */
export interface PublishResult {
  seq: number;
  /** True when the stream already had this Nats-Msg-Id and dropped the copy. */
  duplicate: boolean;
}

/**
 * Validates and publishes events. The event id doubles as Nats-Msg-Id, and the Conform-*
 * headers let `nats stream view` users read an event's type and lineage without decoding it.
 */
export class EventPublisher {
  readonly producer: string;
  private readonly js: JetStreamClient;
  private readonly nc: NatsConnection | undefined;
  private readonly now: () => Date;

  /** `nc`, the connection under `js`, lets {@link publishBatch} pipeline without requests. */
  constructor(
    js: JetStreamClient,
    opts: { producer: string; now?: () => Date; nc?: NatsConnection },
  ) {
    this.js = js;
    this.nc = opts.nc;
    this.producer = opts.producer;
    this.now = opts.now ?? (() => new Date());
  }

  /** Whether {@link publishBatch} pipelines (it has the connection) or calls `publish` per event. */
  get pipelined(): boolean {
    return this.nc !== undefined;
  }

  /** Wraps a domain event in an envelope (deterministic id, inherited correlation) and publishes it. */
  async emit<E extends DomainEvent>(
    event: E,
    opts: Omit<WrapOptions, 'producer' | 'time'>,
  ): Promise<EventEnvelope<E['type']>> {
    const envelope = wrap(event, { ...opts, producer: this.producer, time: this.now() });
    await this.publish(envelope as EventEnvelope);
    return envelope;
  }

  /** Publishes an already-enveloped event after validating it against its schema. */
  async publish(event: EventEnvelope): Promise<PublishResult> {
    const h = checkedHeaders(event);
    try {
      const ack = await this.js.publish(
        subjectFor(event.type, event.fileId),
        JSON.stringify(event),
        {
          msgID: event.id,
          headers: h,
        },
      );
      return { seq: ack.seq, duplicate: ack.duplicate };
    } catch (err) {
      throw new PublishError(
        `the event log did not store ${event.type} for ${event.fileId}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  /**
   * Publishes events pipelined, each validated as {@link publish} does, and says per event
   * (in order) what the stream said: its ack, or the {@link PublishError} that event met. One
   * reply subscription serves the whole batch: a JetStream publish is otherwise a request each
   * (an inbox token, a timer and two error objects per event), which a first scan of 100,000
   * files pays 100,000 times. Never rejects; without `nc` it publishes one by one.
   * `onStored(i, ack)` is called as each ack arrives, before the batch is done: a reader of
   * the log (the watcher's own follower) may meet the event right after.
   */
  async publishBatch(
    events: readonly EventEnvelope[],
    opts: { onStored?: (index: number, ack: PublishResult) => void } = {},
  ): Promise<(PublishResult | PublishError)[]> {
    const nc = this.nc;
    const failed = (err: unknown) =>
      err instanceof PublishError ? err : new PublishError((err as Error).message, { cause: err });
    const onStored = opts.onStored ?? (() => {});
    if (!nc) {
      return Promise.all(
        events.map((e, i) =>
          this.publish(e).then((ack) => {
            onStored(i, ack);
            return ack;
          }, failed),
        ),
      );
    }
    const results: (PublishResult | PublishError | undefined)[] = new Array(events.length);
    const inbox = createInbox();
    let waiting = 0;
    let allAcked!: () => void;
    const acked = new Promise<void>((r) => (allAcked = r));
    let sub: Subscription;
    try {
      sub = nc.subscribe(`${inbox}.*`, {
        callback: (_err, msg) => {
          const i = Number(msg.subject.slice(inbox.length + 1));
          if (!(i >= 0 && i < events.length) || results[i] !== undefined) return;
          const result = ackOf(events[i]!, msg);
          results[i] = result;
          if (!(result instanceof Error)) onStored(i, result);
          if (--waiting === 0) allAcked();
        },
      });
    } catch (err) {
      return events.map(() => failed(err)); // a closed connection
    }
    try {
      events.forEach((event, i) => {
        try {
          const h = checkedHeaders(event);
          h.set('Nats-Msg-Id', event.id);
          nc.publish(subjectFor(event.type, event.fileId), JSON.stringify(event), {
            reply: `${inbox}.${i}`,
            headers: h,
          });
          waiting++;
        } catch (err) {
          results[i] = failed(err);
        }
      });
      if (waiting > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          acked,
          new Promise<void>((r) => (timer = setTimeout(r, BATCH_ACK_TIMEOUT_MS))),
        ]);
        clearTimeout(timer);
      }
    } finally {
      sub.unsubscribe();
    }
    return results.map(
      (r, i) =>
        r ??
        new PublishError(
          `the event log did not acknowledge ${events[i]!.type} for ${events[i]!.fileId} within ${BATCH_ACK_TIMEOUT_MS / 1000} s`,
        ),
    );
  }
}

/** How long {@link EventPublisher.publishBatch} waits for the stream's acks of one batch. */
export const BATCH_ACK_TIMEOUT_MS = 10_000;

/** Validates an event against its schema and builds its Conform-* headers. */
function checkedHeaders(event: EventEnvelope) {
  const checked = validateEvent(event);
  if (!checked.ok) {
    throw new PublishError(`refusing to publish an invalid ${event.type}: ${checked.error}`);
  }
  const h = headers();
  h.set('Conform-Type', event.type);
  h.set('Conform-Version', String(event.version));
  h.set('Conform-Correlation-Id', event.correlationId);
  if (event.causationId) h.set('Conform-Causation-Id', event.causationId);
  h.set('Conform-Producer', event.producer);
  return h;
}

/** The stream's reply to one publish of a batch, as a result or an error. */
function ackOf(event: EventEnvelope, msg: Msg): PublishResult | PublishError {
  const what = `${event.type} for ${event.fileId}`;
  if (msg.data.length === 0 && msg.headers?.code === 503) {
    return new PublishError(`the event log did not store ${what}: no stream takes its subject`);
  }
  try {
    const ack = msg.json<{
      seq?: number;
      duplicate?: boolean;
      error?: { description?: string; code?: number };
    }>();
    if (ack.error || typeof ack.seq !== 'number') {
      return new PublishError(
        `the event log did not store ${what}: ${ack.error?.description ?? 'no sequence in its ack'}`,
      );
    }
    return { seq: ack.seq, duplicate: ack.duplicate ?? false };
  } catch (err) {
    return new PublishError(`the event log did not store ${what}: unreadable ack`, {
      cause: err,
    });
  }
}
