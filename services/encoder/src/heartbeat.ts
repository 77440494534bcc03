import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  openNodeRegistry,
  type Logger,
  type NodeRegistry,
  type ServiceContext,
} from '@conform/bus';
import type { NodeDevice, NodeHeartbeat, PauseReason } from '@conform/contracts';

/** What the node is doing now, as the heartbeat reports it. */
export interface NodeSnapshot {
  devices: NodeDevice[];
  paused: boolean;
  pauseReasons: PauseReason[];
  pools?: string[];
  fallbackPools?: string[];
  libraries?: string[];
  sizeClasses?: string[];
  maxFileSizeBytes?: number;
}

/** The heartbeat for a snapshot. Pure: clock and host come in. */
export function heartbeatOf(
  snapshot: NodeSnapshot,
  node: { node: string; host: string; startedAt: string; intervalMs: number },
  now: Date,
  state: NodeHeartbeat['state'] = 'running',
): NodeHeartbeat {
  return {
    version: 1,
    node: node.node,
    host: node.host,
    state,
    devices: snapshot.devices,
    paused: snapshot.paused,
    pauseReasons: snapshot.pauseReasons,
    ...(snapshot.pools ? { pools: snapshot.pools } : {}),
    ...(snapshot.fallbackPools ? { fallbackPools: snapshot.fallbackPools } : {}),
    ...(snapshot.libraries ? { libraries: snapshot.libraries } : {}),
    ...(snapshot.sizeClasses ? { sizeClasses: snapshot.sizeClasses } : {}),
    ...(snapshot.maxFileSizeBytes !== undefined
      ? { maxFileSizeBytes: snapshot.maxFileSizeBytes }
      : {}),
    running: snapshot.devices.reduce((n, d) => n + d.inUse, 0),
    startedAt: node.startedAt,
    time: now.toISOString(),
    intervalSec: node.intervalMs / 1000,
  };
}

/**
 * Whether two heartbeats report the same thing, their time aside: a beat that would write
 * the same report again is left out (the periodic write keeps the time fresh). Pure.
 */
export function sameReport(a: NodeHeartbeat, b: NodeHeartbeat): boolean {
  return JSON.stringify({ ...a, time: '' }) === JSON.stringify({ ...b, time: '' });
}

/** A running heartbeat: `beat()` writes one now (on a pause change), `stop()` the last. */
export interface Heartbeat {
  beat(): void;
  stop(): Promise<void>;
}

/**
 * Writes the node's heartbeat to the nodes bucket at start, every `intervalMs` and on
 * `beat()`. A failed write is logged and tried again at the next beat: the encoder's work
 * never waits on its heartbeat. Beats coalesce: one that finds a beat still queued is covered
 * by it (the snapshot is taken when the write runs), and one whose report is the last written
 * one is left out, so an encode costs a write only when the node's state changed.
 */
export async function startHeartbeat(
  ctx: ServiceContext,
  opts: { node: string; intervalMs: number; log: Logger; snapshot: () => NodeSnapshot },
): Promise<Heartbeat> {
  // Opened on the first write that can: a store that refuses the bucket now (full, or a
  // JetStream that is still starting) must not keep the encoder from working.
  let registry: NodeRegistry | null = null;
  const identity = {
    node: opts.node,
    host: hostname(),
    startedAt: new Date().toISOString(),
    intervalMs: opts.intervalMs,
  };
  const abort = new AbortController();
  let writing: Promise<void> = Promise.resolve();
  let beatQueued = false;
  let lastWritten: NodeHeartbeat | null = null;
  const write = (state: NodeHeartbeat['state'], onlyIfChanged = false) => {
    if (onlyIfChanged && beatQueued) return writing;
    if (onlyIfChanged) beatQueued = true;
    writing = writing.then(async () => {
      if (onlyIfChanged) beatQueued = false;
      const heartbeat = heartbeatOf(opts.snapshot(), identity, new Date(), state);
      if (onlyIfChanged && lastWritten && sameReport(lastWritten, heartbeat)) return;
      try {
        registry ??= await openNodeRegistry(ctx.bus, {
          create: true,
          replicas: ctx.eventLog?.replicas,
        });
        await registry.put(heartbeat);
        lastWritten = heartbeat;
      } catch (err) {
        opts.log.warn({ err }, 'could not write the node heartbeat; trying again at the next');
      }
    });
    return writing;
  };
  await write('running');
  const loop = (async () => {
    while (!abort.signal.aborted) {
      await sleep(opts.intervalMs, undefined, { signal: abort.signal }).catch(() => undefined);
      if (!abort.signal.aborted) await write('running');
    }
  })();
  return {
    beat: () => void write('running', true),
    async stop() {
      abort.abort();
      await loop;
      await write('stopped');
    },
  };
}
