import {
  Batcher,
  consumerSpec,
  lastEventOf,
  startSubscriptions,
  type RunningService,
  type ServiceContext,
  type Subscription,
} from '@conform/bus';
import type { EventType } from '@conform/contracts';
import type { IntegrationsConfig } from '@conform/config';
import type { PathChange } from './decide.js';
import {
  ARR_EVENTS,
  MEDIA_SERVER_EVENTS,
  NOTIFICATION_EVENTS,
  planNotification,
  planRefresh,
  planRescan,
} from './decide.js';

import type { Delivery } from './adapters/types.js';
import { deliveryHandler, type DeliveryOptions, type TargetHandling } from './deliver.js';
import { startPlaybackWatch } from './playback-watch.js';
import { startSummaries } from './summary.js';
import { buildTargets } from './targets.js';
import { renderMessage, webhookPayload } from './templates.js';

/** Options of {@link startNotify}. */
export interface NotifyOptions {
  integrations: IntegrationsConfig;
  /** Where the secrets' environment variables are read; defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** Attempts per message before it is dead-lettered; defaults to 5. */
  maxDeliver?: number;
  /** First retry delay (doubled per attempt); defaults to 5 s. */
  retryDelayMs?: number;
  /** How often the daily summary is checked for; defaults to 30 s. */
  summaryCheckMs?: number;
}

/**
 * Starts notify: for every configured target, one durable consumer per event type it reacts
 * to (`notify-<target>-<type>`), so each target retries and dead-letters on its own and a dead
 * server holds up nothing else. Plus, when configured, the sessions poller and daily summary.
 */
export async function startNotify(
  ctx: ServiceContext,
  opts: NotifyOptions,
): Promise<RunningService> {
  const config = opts.integrations;
  const targets = buildTargets(config, opts.env ?? process.env);
  const maxDeliver = opts.maxDeliver ?? 5;
  const delivery: DeliveryOptions = {
    bus: ctx.bus,
    maxDeliver,
    retryDelayMs: opts.retryDelayMs ?? 5_000,
  };
  const batch = { windowMs: config.batchWindowMs, max: config.batchMax };
  const subscriptions: Subscription[] = [];
  const subscribe = <W>(
    name: string,
    types: readonly EventType[],
    handling: TargetHandling<W>,
    slots: number,
  ) => {
    for (const type of types) {
      subscriptions.push({
        // A target added to an existing installation hears about what happens from now on,
        // not about every swap in the log's history.
        consumer: consumerSpec(`notify-${name}`, type, { maxDeliver, startAt: 'new' }),
        handle: deliveryHandler(handling, delivery),
        // Enough messages in flight at once to fill a batch.
        slots,
      });
    }
  };

  for (const server of targets.mediaServers) {
    const batcher = new Batcher<PathChange[], Delivery>((files) => server.refresh(files), batch);
    subscribe(
      server.name,
      MEDIA_SERVER_EVENTS,
      {
        target: server,
        action: 'refresh',
        plan: async (event) => planRefresh(event),
        perform: async (work) => {
          if (work.action !== 'refresh') return { delivery: null, batched: 0 };
          const { result, size } = await batcher.submit(work.changes);
          return { delivery: result, batched: size };
        },
      },
      batch.max,
    );
  }
  for (const app of targets.arr) {
    const batcher = new Batcher<string, Delivery | null>((paths) => app.rescan(paths), batch);
    subscribe(
      app.name,
      ARR_EVENTS,
      {
        target: app,
        action: 'rescan',
        plan: async (event) => planRescan(event),
        perform: async (work) => {
          if (work.action !== 'rescan') return { delivery: null, batched: 0 };
          const { result, size } = await batcher.submit(work.path);
          return { delivery: result, batched: size };
        },
      },
      batch.max,
    );
  }
  const notifierConsumers = new Set(
    targets.notifiers.flatMap(({ config: n }) =>
      NOTIFICATION_EVENTS.map((t) => consumerSpec(`notify-${n.name}`, t).durable),
    ),
  );
  for (const { adapter, config: n } of targets.notifiers) {
    subscribe(
      n.name,
      NOTIFICATION_EVENTS,
      {
        target: adapter,
        action: 'notification',
        plan: async (event) => {
          const planReasons =
            event.type === 'file.replaced'
              ? (await lastEventOf(ctx.bus, 'file.planned', event.fileId))?.event.data.reasons
              : undefined;
          return planNotification(event, n.events, {
            planReasons,
            isNotificationConsumer: (durable) => notifierConsumers.has(durable),
          });
        },
        perform: async (work, signal) => {
          if (work.action !== 'notification' || work.event === 'summary') {
            return { delivery: null, batched: 0 };
          }
          const message = renderMessage(work.event, work.facts, n.templates);
          const payload = webhookPayload(work.event, work.facts, message);
          return { delivery: await adapter.send(message, payload, signal), batched: 1 };
        },
      },
      2,
    );
  }

  const log = ctx.log.child({ service: 'notify' });
  const service = await startSubscriptions('notify', ctx, subscriptions);
  const extras: { stop(): Promise<void> }[] = [];
  try {
    if (config.pauseWhilePlaying) {
      const watched = targets.mediaServers.filter((s) =>
        config.pauseWhilePlaying!.servers.includes(s.name),
      );
      extras.push(await startPlaybackWatch(ctx, watched, config.pauseWhilePlaying, log));
    }
    const summaryTargets = targets.notifiers.filter((t) => t.config.events.includes('summary'));
    if (config.summaryAt && summaryTargets.length > 0) {
      extras.push(
        await startSummaries(ctx, summaryTargets, {
          at: config.summaryAt,
          checkMs: opts.summaryCheckMs,
          maxAttempts: maxDeliver,
          log,
        }),
      );
    }
  } catch (err) {
    await service.stop();
    throw err;
  }
  log.info(
    {
      mediaServers: targets.mediaServers.map((s) => `${s.kind}:${s.name}`),
      arr: targets.arr.map((a) => `${a.kind}:${a.name}`),
      notifications: targets.notifiers.map((t) => `${t.config.kind}:${t.config.name}`),
      pauseWhilePlaying: config.pauseWhilePlaying?.servers ?? [],
    },
    'notify targets',
  );
  return {
    name: 'notify',
    stop: async () => {
      for (const e of extras) await e.stop();
      await service.stop();
    },
  };
}
