import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamManager,
  type ConsumerConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { subjectFilterForType, type EventType } from '@conform/contracts';
import { EVENT_LOG_STREAM, isNotFound } from './event-log.js';

/** A durable pull consumer a service reads one event type through. */
export interface ConsumerSpec {
  /** Durable name, shared by every instance of the service: that is how they split the work. */
  durable: string;
  filterSubject: string;
  /** The stream it reads; the event log unless it is a work queue ({@link WORK_STREAM}). */
  stream?: string;
  /** How long a delivery may go without an ack or in-progress ack before it is redelivered. */
  ackWaitMs: number;
  /** Deliveries the service attempts; one more is configured on the server so a delivery that
   * crashed its handler on the last attempt still reaches the dead-letter path. */
  maxDeliver: number;
  /** Upper bound on messages out at once across every instance. */
  maxAckPending: number;
  /**
   * Where a newly created consumer starts: `all` (the default) from the first event in the log;
   * `new` from the next event published, for a service added to an existing installation that
   * must not act on the whole history (notify would refresh and notify about every past swap).
   * Only used when the consumer is created; an existing one keeps its position.
   */
  startAt?: 'all' | 'new';
}

/** The consumer through which `service` reads `type` events; defaults suit quick handlers. */
export function consumerSpec(
  service: string,
  type: EventType,
  overrides: Partial<Omit<ConsumerSpec, 'durable' | 'filterSubject'>> = {},
): ConsumerSpec {
  return {
    durable: `${service}-${type.replace('.', '-')}`,
    filterSubject: subjectFilterForType(type),
    ackWaitMs: 30_000,
    maxDeliver: 5,
    maxAckPending: 64,
    ...overrides,
  };
}

/**
 * The consumer's server-side configuration. `replicas` follows the event log's (a consumer
 * on an R3 stream is R3 too, so a lost server loses no ack state).
 */
export function consumerConfig(spec: ConsumerSpec, replicas = 1): Partial<ConsumerConfig> {
  return {
    durable_name: spec.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: spec.startAt === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
    filter_subject: spec.filterSubject,
    ack_wait: nanos(spec.ackWaitMs),
    max_deliver: spec.maxDeliver + 1,
    max_ack_pending: spec.maxAckPending,
    num_replicas: replicas,
  };
}

/**
 * Creates the durable consumer, or updates its limits if they changed; replicas are raised,
 * never lowered, like the stream's. Idempotent.
 */
export async function provisionConsumer(
  jsm: JetStreamManager,
  spec: ConsumerSpec,
  replicas = 1,
): Promise<void> {
  const want = consumerConfig(spec, replicas);
  const existing = await jsm.consumers
    .info(spec.stream ?? EVENT_LOG_STREAM, spec.durable)
    .catch((err: unknown) => {
      if (isNotFound(err)) return null;
      throw err;
    });
  if (!existing) {
    try {
      await jsm.consumers.add(spec.stream ?? EVENT_LOG_STREAM, want);
    } catch (err) {
      // Another instance created it first; that is fine if it now exists.
      await jsm.consumers.info(spec.stream ?? EVENT_LOG_STREAM, spec.durable).catch(() => {
        throw err;
      });
    }
    return;
  }
  const have = existing.config;
  // 0 means "as the stream", which is what a consumer created before replicas were set has.
  const haveReplicas = have.num_replicas || 1;
  const wantReplicas = Math.max(haveReplicas, replicas);
  if (
    have.ack_wait !== want.ack_wait ||
    have.max_deliver !== want.max_deliver ||
    have.max_ack_pending !== want.max_ack_pending ||
    have.filter_subject !== want.filter_subject ||
    haveReplicas !== wantReplicas
  ) {
    await jsm.consumers.update(spec.stream ?? EVENT_LOG_STREAM, spec.durable, {
      ack_wait: want.ack_wait,
      max_deliver: want.max_deliver,
      max_ack_pending: want.max_ack_pending,
      filter_subject: want.filter_subject,
      num_replicas: wantReplicas,
    });
  }
}
