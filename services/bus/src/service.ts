import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { Bus } from './connection.js';
import type { BusHealth } from './health.js';
import { provisionConsumer, type ConsumerSpec } from './consumers.js';
import { provisionEventLog, type EventLogOptions } from './event-log.js';
import type { EventPublisher } from './publisher.js';
import { provisionWorkStream, WORK_STREAM } from './work.js';
import { canonicalContext, localView, type PathMap } from './path-map.js';
import { runWorker, type EventHandler, type MessageOutcome } from './worker.js';

/** What every service is started with. */
export interface ServiceContext {
  bus: Bus;
  publisher: EventPublisher;
  log: Logger;
  eventLog?: EventLogOptions;
  /**
   * This node's `--path-map`: handlers see events with local paths and what they emit is put
   * back into canonical paths. Absent or empty: paths are used as the events carry them.
   */
  pathMap?: PathMap;
  /** Observes every message outcome (metrics, tests). */
  onOutcome?: (service: string, outcome: MessageOutcome) => void;
  /** Told about failing and recovered consumers, for readiness. */
  health?: Pick<BusHealth, 'consumerFailed' | 'consumerOk'>;
}

/** A started service; `stop` finishes or returns in-flight work and resolves when it is idle. */
export interface RunningService {
  name: string;
  stop(): Promise<void>;
}

/** One durable consumer and what to do with each of its events. */
export interface Subscription {
  consumer: ConsumerSpec;
  handle: EventHandler;
  /** Concurrent messages in this process; defaults to 1. */
  slots?: number;
  /** Handle events in the canonical paths they carry, even on a path-mapped node. */
  canonicalPaths?: boolean;
  /** Awaited before each pull (see `WorkerOptions.beforePull`); how a service pauses. */
  beforePull?: (signal: AbortSignal) => Promise<void>;
}

/**
 * Provisions the event log and each subscription's durable consumer, then runs a worker per
 * subscription until stopped. Every service that reacts to events starts through this.
 */
export async function startSubscriptions(
  name: string,
  ctx: ServiceContext,
  subscriptions: Subscription[],
): Promise<RunningService> {
  const log0 = await provisionEventLog(ctx.bus.jsm, ctx.eventLog);
  // Consumers follow the stream's replicas, which may be higher than this node's setting.
  const replicas = log0.config.num_replicas || 1;
  if (subscriptions.some((s) => s.consumer.stream === WORK_STREAM)) {
    await provisionWorkStream(ctx.bus.jsm, { ...ctx.eventLog, replicas });
  }
  for (const s of subscriptions) await provisionConsumer(ctx.bus.jsm, s.consumer, replicas);
  const abort = new AbortController();
  // Every running handler listens on this signal; many slots are expected, not a leak.
  const slots = subscriptions.reduce((n, s) => n + (s.slots ?? 1), 0);
  setMaxListeners(Math.max(10, 2 * slots + 10), abort.signal);
  const log = ctx.log.child({ service: name });
  const running = Promise.all(
    subscriptions.map((s) =>
      runWorker({
        js: ctx.bus.js,
        publisher: ctx.publisher,
        consumer: s.consumer,
        handle:
          ctx.pathMap?.empty === false && !s.canonicalPaths
            ? mapped(s.handle, ctx.pathMap)
            : s.handle,
        slots: s.slots ?? 1,
        beforePull: s.beforePull,
        log,
        signal: abort.signal,
        onOutcome: (o) => ctx.onOutcome?.(name, o),
        onPullError: (err) => ctx.health?.consumerFailed(s.consumer.durable, err),
        onPullOk: () => ctx.health?.consumerOk(s.consumer.durable),
      }),
    ),
  );
  log.info({ consumers: subscriptions.map((s) => s.consumer.durable) }, 'service started');
  return {
    name,
    stop: async () => {
      abort.abort(new Error(`${name} stopping`));
      await running;
      log.info('service stopped');
    },
  };
}

function mapped(handle: EventHandler, map: PathMap): EventHandler {
  return (event, hctx) => handle(localView(event, map), canonicalContext(hctx, map));
}
