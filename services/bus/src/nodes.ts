import { Kvm, type KV } from '@nats-io/kv';
import { decodeHeartbeat, nodeKeyFor, NODES_BUCKET, type NodeHeartbeat } from '@conform/contracts';
import { isNotFound } from './event-log.js';
import type { Bus } from './connection.js';

/** A node's last heartbeat, or why it could not be read. */
export type NodeEntry =
  { ok: true; heartbeat: NodeHeartbeat } | { ok: false; key: string; error: string };

/** The nodes bucket: where encoder nodes say what they are and what they do. */
export interface NodeRegistry {
  put(heartbeat: NodeHeartbeat): Promise<void>;
  /** Every node's last heartbeat, by key. */
  list(): Promise<NodeEntry[]>;
  /**
   * Calls `listener` with every node's last heartbeat, then with each new one, until the
   * returned function is called. Entries that do not decode are skipped. Resolves with a
   * no-op when the bucket does not exist.
   */
  watch(listener: (heartbeat: NodeHeartbeat) => void): Promise<() => void>;
}

/** Nodes silent this long are forgotten by the bucket itself (a day: long enough to notice). */
export const NODE_HEARTBEAT_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/**
 * Opens the nodes bucket; `create` makes it when missing (the encoder does, a reader does
 * not: with no bucket there are simply no nodes yet).
 */
export async function openNodeRegistry(
  bus: Bus,
  opts: {
    create: boolean;
    /** Replicas of a bucket it creates (as the event log's). */ replicas?: number;
  },
): Promise<NodeRegistry> {
  const kvm = new Kvm(bus.js);
  let kv: KV | null = null;
  const bucket = async (): Promise<KV | null> => {
    if (kv) return kv;
    if (opts.create) {
      kv = await kvm.create(NODES_BUCKET, {
        history: 1,
        ttl: NODE_HEARTBEAT_MAX_AGE_MS,
        replicas: opts.replicas ?? 1,
      });
      // create() binds an existing bucket as it is: raise it like the event log (never lower).
      const stream = `KV_${NODES_BUCKET}`;
      const info = await bus.jsm.streams.info(stream).catch(() => null);
      if (info && (info.config.num_replicas ?? 1) < (opts.replicas ?? 1)) {
        await bus.jsm.streams.update(stream, { num_replicas: opts.replicas });
      }
      return kv;
    }
    // Opening does not check the bucket exists; its status does.
    const candidate = await kvm.open(NODES_BUCKET);
    try {
      await candidate.status();
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
    kv = candidate;
    return kv;
  };
  await bucket();
  return {
    async put(heartbeat) {
      const b = await bucket();
      await b?.put(nodeKeyFor(heartbeat.node), JSON.stringify(heartbeat));
    },
    async list() {
      const b = await bucket();
      if (!b) return [];
      const keys: string[] = [];
      for await (const key of await b.keys()) keys.push(key);
      const entries: NodeEntry[] = [];
      for (const key of keys.sort()) {
        const entry = await b.get(key);
        if (!entry || entry.operation !== 'PUT') continue;
        const decoded = decodeHeartbeat(entry.value);
        entries.push(decoded.ok ? decoded : { ok: false, key, error: decoded.error });
      }
      return entries;
    },
    async watch(listener) {
      const b = await bucket();
      if (!b) return () => undefined;
      const updates = await b.watch({ ignoreDeletes: true });
      void (async () => {
        for await (const entry of updates) {
          if (entry.operation !== 'PUT') continue;
          const decoded = decodeHeartbeat(entry.value);
          if (decoded.ok) listener(decoded.heartbeat);
        }
      })();
      return () => updates.stop();
    },
  };
}
