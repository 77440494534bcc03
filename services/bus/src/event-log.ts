import {
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { SUBJECT_PREFIX } from '@conform/contracts';
import { BusError } from './errors.js';

/** The one stream that holds conform's whole history. */
export const EVENT_LOG_STREAM = 'CONFORM_EVENTS';

export interface EventLogOptions {
  /** Byte ceiling; when full the stream refuses writes rather than dropping history. */
  maxBytes?: number;
  /** Window in which a repeated Nats-Msg-Id is dropped. */
  duplicateWindowMs?: number;
  /**
   * Copies of the log (and of every durable consumer) kept by the cluster: 1 on one box, 3 on
   * a 3-node cluster. An existing stream is raised to it, never lowered (see provisionEventLog).
   */
  replicas?: number;
  /** Server tags the stream's replicas must be placed on (nats-server `server_tags`). */
  placementTags?: string[];
}

export const DEFAULT_EVENT_LOG_MAX_BYTES = 2 * 1024 ** 3;

/** The desired configuration of the event-log stream. */
export function eventLogConfig(
  opts: EventLogOptions = {},
): Partial<StreamConfig> & { name: string } {
  return {
    name: EVENT_LOG_STREAM,
    description: 'conform event log: every state change of every file',
    subjects: [`${SUBJECT_PREFIX}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.New,
    max_bytes: opts.maxBytes ?? DEFAULT_EVENT_LOG_MAX_BYTES,
    max_msgs: -1,
    max_age: 0,
    duplicate_window: nanos(opts.duplicateWindowMs ?? 2 * 60_000),
    deny_delete: true,
    deny_purge: true,
    num_replicas: opts.replicas ?? 1,
    ...(opts.placementTags?.length ? { placement: { cluster: '', tags: opts.placementTags } } : {}), // cluster '': any
  };
}

/**
 * Creates the event-log stream, or brings an existing one to the desired limits. Safe to run
 * from every service at every start.
 */
export async function provisionEventLog(
  jsm: JetStreamManager,
  opts: EventLogOptions = {},
): Promise<StreamInfo> {
  const want = eventLogConfig(opts);
  const existing = await jsm.streams.info(EVENT_LOG_STREAM).catch((err: unknown) => {
    if (isNotFound(err)) return null;
    throw err;
  });
  if (!existing) {
    try {
      return await jsm.streams.add(want);
    } catch (err) {
      // Another service created it in the meantime.
      const again = await jsm.streams.info(EVENT_LOG_STREAM).catch(() => null);
      if (again) return again;
      throw provisionError('create', want, err);
    }
  }
  const have = existing.config;
  // Replicas only grow: a node started with an old or default setting must not shrink a
  // cluster's R3 log to R1. Lowering is an operator's deliberate `nats stream edit`.
  const replicas = Math.max(have.num_replicas ?? 1, want.num_replicas ?? 1);
  const placement = want.placement ?? have.placement;
  const drifted =
    have.max_bytes !== want.max_bytes ||
    have.duplicate_window !== want.duplicate_window ||
    JSON.stringify(have.subjects) !== JSON.stringify(want.subjects) ||
    have.discard !== want.discard ||
    have.num_replicas !== replicas ||
    JSON.stringify(have.placement?.tags ?? []) !== JSON.stringify(placement?.tags ?? []);
  if (!drifted) return existing;
  return jsm.streams
    .update(EVENT_LOG_STREAM, {
      subjects: want.subjects,
      max_bytes: want.max_bytes,
      duplicate_window: want.duplicate_window,
      discard: want.discard,
      num_replicas: replicas,
      ...(placement ? { placement } : {}),
    })
    .catch((err: unknown) => {
      throw provisionError('update', { ...want, num_replicas: replicas }, err);
    });
}

/** Says which setting to look at: replicas and tags are the usual culprits on a cluster. */
function provisionError(
  what: 'create' | 'update',
  want: Partial<StreamConfig>,
  cause: unknown,
): BusError {
  const tags = want.placement?.tags?.length
    ? ` on servers tagged ${want.placement.tags.join(',')} (CONFORM_PLACEMENT_TAGS)`
    : '';
  return new BusError(
    'EVENT_LOG_PROVISION',
    `cannot ${what} the ${EVENT_LOG_STREAM} stream with ${want.num_replicas ?? 1} replica(s)${tags} ` +
      `(--replicas / CONFORM_STREAM_REPLICAS; more than 1 needs a NATS cluster with that many ` +
      `JetStream servers): ${(cause as Error).message}`,
    { cause },
  );
}

export function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; name?: string; message?: string };
  return (
    e?.name === 'StreamNotFoundError' ||
    e?.name === 'ConsumerNotFoundError' ||
    /not found/i.test(e?.message ?? '')
  );
}
