// Routing of work by ability: which pools a node serves, the router that turns file.planned and
// retry requests into work-queue messages by pool and size class, and the consumers a node pulls
// them from (fallback pools behind their wait). One job, kept together so the subject layout
// (conform.work.<pool>.<class>.<fileId>) is defined and read in one file.
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventEnvelope } from '@conform/contracts';
import {
  consumerSpec,
  EVENT_LOG_STREAM,
  isNotFound,
  lastEventOf,
  legacyWorkFilterFor,
  oldestWaiting,
  TransientError,
  poolFor,
  publishWork,
  sizeClassFor,
  type EventHandler,
  type SizeClass,
  type Subscription,
  WORK_STREAM,
  WORK_SUBJECT_PREFIX,
  workFilterFor,
  type Bus,
  type ConsumerSpec,
  type WorkPool,
} from '@conform/bus';
import { planClosed } from './job-state.js';
import type { EncodeProfile, VideoCodec } from './profiles.js';

/** The pools a node takes work from, as it can serve them. */
export interface ServedPools {
  /** Pools it can do: `gpu-<codec>` with a hardware encoder, `cpu-<codec>` with any. */
  native: WorkPool[];
  /** GPU pools a CPU-only node may take from after the fallback wait, if the policy allows. */
  fallback: WorkPool[];
}

/**
 * From the encoders that passed the trial encode: a codec on a GPU serves its gpu pool and its
 * cpu pool (a GPU does CPU-grade work too); a codec only on the CPU serves the cpu pool, and
 * the gpu pool only as a fallback. A codec with no working encoder serves nothing. Pure.
 */
export function poolsServed(
  profiles: ReadonlyMap<VideoCodec, Pick<EncodeProfile, 'backend'>>,
  opts: { cpuFallback: boolean },
): ServedPools {
  const native: WorkPool[] = [];
  const fallback: WorkPool[] = [];
  for (const [codec, profile] of profiles) {
    if (profile.backend !== 'cpu') native.push(poolFor('gpu', codec));
    else if (opts.cpuFallback) fallback.push(poolFor('gpu', codec));
    native.push(poolFor('cpu', codec));
  }
  return { native, fallback };
}

/** The durable consumer of one pool's size class, shared by every node that serves it. */
export function poolConsumerSpec(
  pool: WorkPool,
  sizeClass: SizeClass,
  limits: Pick<ConsumerSpec, 'ackWaitMs' | 'maxDeliver' | 'maxAckPending'>,
): ConsumerSpec {
  return {
    durable: `encoder-work-${pool}-${sizeClass}`,
    filterSubject: workFilterFor(pool, sizeClass),
    stream: WORK_STREAM,
    ...limits,
  };
}

/** The consumer of a pool's jobs queued before size classes (its durable name of then). */
export function legacyPoolConsumerSpec(
  pool: WorkPool,
  limits: Pick<ConsumerSpec, 'ackWaitMs' | 'maxDeliver' | 'maxAckPending'>,
): ConsumerSpec {
  return {
    durable: `encoder-work-${pool}`,
    filterSubject: legacyWorkFilterFor(pool),
    stream: WORK_STREAM,
    ...limits,
  };
}

/** The size class a plan's job is queued in: by the source's planned size. Pure. */
export function sizeClassOf(planned: EventEnvelope<'file.planned'>): SizeClass {
  return sizeClassFor(planned.data.source.size);
}

/** Whether the work stream still holds jobs queued before size classes. */
async function hasLegacyWork(bus: Bus): Promise<boolean> {
  try {
    const info = await bus.jsm.streams.info(WORK_STREAM, {
      subjects_filter: `${WORK_SUBJECT_PREFIX}.*.*`,
    });
    return Object.keys(info.state.subjects ?? {}).length > 0;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** What {@link workSubscriptions} needs from the encoder. */
export interface WorkSubscriptionOptions {
  pools: ServedPools;
  sizeClasses: readonly SizeClass[];
  /** Whether this node has no maximum file size (it alone drains jobs of before size classes). */
  unlimited: boolean;
  limits: Pick<ConsumerSpec, 'ackWaitMs' | 'maxDeliver' | 'maxAckPending'>;
  /** Slots per native consumer. */
  pullSlots: number;
  /** Resolves while the node is not paused. */
  whenRunning: (signal: AbortSignal) => Promise<void>;
  cpuFallbackAfterMs: number;
  /** How a native pool's consumers wait and handle (the device gate); default whenRunning + handle. */
  native?: (pool: WorkPool) => {
    beforePull: (signal: AbortSignal) => Promise<void>;
    handle: EventHandler;
  };
  /** The handler of fallback pools (and of native pools without {@link native}). */
  handle: EventHandler;
}

/**
 * The node's consumers of work: one per pool it serves and size class it takes (the fallback
 * pools behind their wait), and, while any are left, the pools' jobs of before size classes.
 */
export async function workSubscriptions(
  bus: Bus,
  o: WorkSubscriptionOptions,
): Promise<Subscription[]> {
  const legacy = o.unlimited && (await hasLegacyWork(bus));
  const specs = o.pools.native.flatMap((pool) =>
    [
      ...o.sizeClasses.map((c) => poolConsumerSpec(pool, c, o.limits)),
      ...(legacy ? [legacyPoolConsumerSpec(pool, o.limits)] : []),
    ].map((consumer) => ({ pool, consumer })),
  );
  const fallback = o.pools.fallback.flatMap((pool) =>
    o.sizeClasses.map((c) => poolConsumerSpec(pool, c, o.limits)),
  );
  return [
    ...specs.map(({ pool, consumer }) => ({
      consumer,
      slots: o.pullSlots,
      ...(o.native?.(pool) ?? { beforePull: o.whenRunning, handle: o.handle }),
    })),
    ...fallback.map((consumer) => {
      const due = fallbackGate(bus, consumer, o.cpuFallbackAfterMs);
      return {
        consumer,
        slots: 1,
        beforePull: async (signal: AbortSignal) => {
          await o.whenRunning(signal);
          await due(signal);
        },
        handle: o.handle,
      };
    }),
  ];
}

/** Whether a fallback node may take a job that has waited `ageMs`. Pure. */
export function fallbackDue(ageMs: number, waitMs: number): boolean {
  return ageMs >= waitMs;
}

/**
 * A `beforePull` for a fallback pool: returns only once the oldest job nobody has taken yet
 * has waited `waitMs` (read from the consumer's position and the stream, without pulling), so
 * a CPU-only node leaves GPU work to GPU nodes unless they let it wait.
 */
export function fallbackGate(
  bus: Bus,
  spec: ConsumerSpec,
  waitMs: number,
  now: () => number = Date.now,
): (signal: AbortSignal) => Promise<void> {
  return async (signal) => {
    if (waitMs <= 0) return;
    while (!signal.aborted) {
      const queuedAt = await oldestWaiting(bus, spec.durable, spec.filterSubject).catch(() => null);
      if (queuedAt !== null && fallbackDue(now() - queuedAt.getTime(), waitMs)) return;
      await sleep(Math.min(1_000, waitMs), undefined, { signal }).catch(() => undefined);
    }
  };
}

/** Where plans go: `cpu` (any node that encodes the codec) or `gpu` (GPU nodes first). */
export type RoutePreference = 'gpu' | 'cpu';

/**
 * The pool a plan is queued in, or null when there is nothing to encode or remux. `cpu` work is open to
 * every node with an encoder for the codec, GPU nodes included; `gpu` work only to GPU nodes
 * (and CPU nodes that allow the fallback). Pure.
 */
export function routeFor(
  planned: EventEnvelope<'file.planned'>,
  prefer: RoutePreference,
): WorkPool | null {
  const { decision, target } = planned.data;
  if (!target) return null;
  // A remux copies the video: any node that serves the codec can do it, so it never waits for a GPU.
  if (decision === 'remux') return poolFor('cpu', target.videoCodec);
  if (decision !== 'encode') return null;
  return poolFor(prefer, target.videoCodec);
}

/**
 * Plans published this long after the router's consumer was created are live work: they need
 * no history check. By the plan's own time (its producer's clock), the margin covers clock
 * differences between the planner's host and NATS; by the time the stream stored it (the
 * server's clock, as the consumer's creation time is), only those between NATS servers.
 */
export const ROUTER_REPLAY_MARGIN_MS = 10 * 60_000;
export const ROUTER_REPLAY_MARGIN_STORED_MS = 10_000;

/**
 * Whether the router must check a plan against the file's history before queuing it: a
 * redelivery, or a plan older than the router's consumer (plus a margin), which it reads only
 * when the consumer is new on an old log (a NATS restored with only the replicated log). Live
 * plans skip the check, so routing costs what it did: seven log reads a plan otherwise, the
 * most of the router's work. A plan the stream stored after `liveAfterSeq` (its last sequence
 * when this router started, read once its consumer existed) is live whatever the clocks say,
 * so the first seconds of a new router need no check either; older ones are judged by when
 * the stream stored them where that is known, else by their own time. Pure.
 */
export function needsHistoryCheck(
  plan: { time: string; storedAtMs?: number; seq?: number },
  attempt: number,
  routerCreatedMs: number,
  liveAfterSeq?: number,
): boolean {
  if (attempt > 1) return true;
  if (plan.seq !== undefined && liveAfterSeq !== undefined && plan.seq > liveAfterSeq) {
    return false;
  }
  if (plan.storedAtMs !== undefined && Number.isFinite(plan.storedAtMs)) {
    return !(plan.storedAtMs >= routerCreatedMs + ROUTER_REPLAY_MARGIN_STORED_MS);
  }
  return !(Date.parse(plan.time) >= routerCreatedMs + ROUTER_REPLAY_MARGIN_MS);
}

/**
 * Routes each plan into its pool. Every encoder node runs it on one shared consumer, so a plan
 * is routed once wherever encoders run; the work id is derived from the plan's, so a repeat
 * is dropped. A plan read again from history (see {@link needsHistoryCheck}) that a newer plan
 * supersedes, or that was answered already, is not queued: a router reading the log again from
 * the start queues only what is still open. Set `prefer` the same on every node.
 */
export function routerSubscription(bus: Bus, prefer: RoutePreference): Subscription {
  const consumer = consumerSpec('router', 'file.planned');
  let createdMs: Promise<number> | null = null;
  const routerCreated = () =>
    (createdMs ??= bus.jsm.consumers
      .info(EVENT_LOG_STREAM, consumer.durable)
      .then((info) => Date.parse(info.created))
      .catch((err: unknown) => {
        createdMs = null;
        throw new TransientError(`cannot read the ${consumer.durable} consumer`, { cause: err });
      }));
  // The log's last sequence before the first pull: the worker has read the consumer by then,
  // so every plan stored after it reached a consumer that already existed. Unknown (the read
  // failed) leaves the clocks to judge.
  let liveAfter: Promise<number | undefined> | null = null;
  const lastSeqNow = () =>
    bus.jsm.streams.info(EVENT_LOG_STREAM).then(
      (info) => info.state.last_seq,
      () => undefined,
    );
  return {
    consumer,
    slots: 1,
    // The queued copy must carry the canonical paths, whatever this node's path map says.
    canonicalPaths: true,
    beforePull: async () => {
      await (liveAfter ??= lastSeqNow());
    },
    handle: async (event, hctx) => {
      if (event.type !== 'file.planned') return;
      const pool = routeFor(event, prefer);
      if (!pool) return;
      const plan = {
        time: event.time,
        storedAtMs: hctx.storedAt?.getTime(),
        seq: hctx.streamSequence,
      };
      const created = await routerCreated();
      if (needsHistoryCheck(plan, hctx.attempt, created, (await liveAfter) ?? undefined)) {
        const closed = await planClosed(bus, event, hctx.streamSequence).catch((err: unknown) => {
          throw new TransientError(`cannot read the history of ${event.fileId}`, { cause: err });
        });
        if (closed) {
          hctx.log.debug({ path: event.data.path, why: closed }, 'not queued');
          return;
        }
      }
      await publishWork(bus.js, pool, sizeClassOf(event), event);
      hctx.log.debug({ path: event.data.path, pool }, 'queued');
    },
  };
}

/**
 * Routes each operator retry (`control.requested` retry, from `conform retry` or the dashboard)
 * into the pool its file's last plan goes to, so the retried file lands on a node that can do
 * it, as the plan did. The job is the request itself: the node that takes it reads the last
 * plan then and encodes it into an output named by the request. Starts at new requests: an
 * upgraded installation does not replay its past retries.
 */
export function retryRouterSubscription(bus: Bus, prefer: RoutePreference): Subscription {
  return {
    consumer: consumerSpec('router', 'control.requested', { startAt: 'new' }),
    slots: 1,
    canonicalPaths: true,
    handle: async (event, hctx) => {
      if (event.type !== 'control.requested' || event.data.action !== 'retry') return;
      const planned = await lastEventOf(bus, 'file.planned', event.fileId).then(
        (found) => found?.event ?? null,
        (err: unknown) => {
          throw new TransientError(`cannot read the last plan of ${event.fileId}`, { cause: err });
        },
      );
      if (!planned) {
        hctx.log.warn(
          { path: event.data.path },
          'retry requested for a file that was never planned',
        );
        return;
      }
      const pool = routeFor(planned, prefer);
      if (!pool) {
        hctx.log.warn(
          { path: planned.data.path, decision: planned.data.decision },
          `retry requested, but the last plan is ${planned.data.decision}: nothing to encode`,
        );
        return;
      }
      await publishWork(bus.js, pool, sizeClassOf(planned), event);
      hctx.log.info({ path: planned.data.path, pool, by: event.data.requestedBy }, 'retry queued');
    },
  };
}
