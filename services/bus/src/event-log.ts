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

/** The one stream that holds conform's whole history. */
export const EVENT_LOG_STREAM = 'CONFORM_EVENTS';

export interface EventLogOptions {
  /** Byte ceiling; when full the stream refuses writes rather than dropping history. */
  maxBytes?: number;
  /** Window in which a repeated Nats-Msg-Id is dropped. */
  duplicateWindowMs?: number;
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
    num_replicas: 1,
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
      throw err;
    }
  }
  const have = existing.config;
  const drifted =
    have.max_bytes !== want.max_bytes ||
    have.duplicate_window !== want.duplicate_window ||
    JSON.stringify(have.subjects) !== JSON.stringify(want.subjects) ||
    have.discard !== want.discard;
  if (!drifted) return existing;
  return jsm.streams.update(EVENT_LOG_STREAM, {
    subjects: want.subjects,
    max_bytes: want.max_bytes,
    duplicate_window: want.duplicate_window,
    discard: want.discard,
  });
}

export function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; name?: string; message?: string };
  return (
    e?.name === 'StreamNotFoundError' ||
    e?.name === 'ConsumerNotFoundError' ||
    /not found/i.test(e?.message ?? '')
  );
}
