import { headers } from '@nats-io/transport-node';
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
  private readonly now: () => Date;

  constructor(js: JetStreamClient, opts: { producer: string; now?: () => Date }) {
    this.js = js;
    this.producer = opts.producer;
    this.now = opts.now ?? (() => new Date());
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
}
