import { Kvm } from '@nats-io/kv';
import type { Bus } from './connection.js';

/** One small JetStream key-value bucket of strings (a service's bookkeeping, not events). */
export interface KeyValueBucket {
  /** The key's value, or null when it has none (never written, deleted or purged). */
  get(key: string): Promise<string | null>;
  put(key: string, value: string): Promise<void>;
}

/** Opens `bucket`, creating it (one value per key, `replicas` copies) when missing. */
export async function openKeyValue(
  bus: Bus,
  bucket: string,
  opts: { replicas?: number } = {},
): Promise<KeyValueBucket> {
  const kv = await new Kvm(bus.js).create(bucket, { history: 1, replicas: opts.replicas ?? 1 });
  return {
    async get(key) {
      const entry = await kv.get(key);
      return entry?.operation === 'PUT' ? entry.string() : null;
    },
    async put(key, value) {
      await kv.put(key, value);
    },
  };
}
