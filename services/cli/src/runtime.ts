import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  connectBus,
  createBusMetrics,
  EventPublisher,
  serveMetrics,
  planSelfCheck,
  provisionEventLog,
  runSelfCheck,
  startNatsServer,
  type NodeRole,
  type Bus,
  type Logger,
  type NatsServerHandle,
  type RunningService,
  type ServiceContext,
} from '@conform/bus';
import { startWatcher } from '@conform/watcher';
import { startPlanner } from '@conform/planner';
import { encoderOptionsFromEnv, startEncoder, WORK_DIR_NAME } from '@conform/encoder';
import { startVerifier } from '@conform/verifier';
import { startArchiver } from '@conform/archiver';
import { openReadModels, startProjector, type ReadModels } from '@conform/projections';
import { startStatusServer } from '@conform/status';
import { CliError } from './errors.js';
import type { ConformSettings } from './settings.js';

/** The services `conform run` can start alone; `conform up` starts them all. */
export const SERVICE_NAMES = [
  'watcher',
  'planner',
  'encoder',
  'verifier',
  'archiver',
  'status',
] as const;
export type ServiceToRun = (typeof SERVICE_NAMES)[number];

/** A running conform: what was started, and how to stop all of it in order. */
export interface RunningConform {
  natsUrl: string;
  /** Set when this process started its own nats-server. */
  embeddedNats: NatsServerHandle | null;
  /** Set when the status service runs in this process. */
  statusUrl: string | null;
  stop(): Promise<void>;
}

/**
 * Starts the chosen services against NATS. With no NATS URL, starts an embedded nats-server
 * (JetStream, free loopback port, store under the state directory) and owns its lifetime.
 * Stop order: sources first (watcher), then workers, then read side, then the bus and server,
 * so nothing is left half-done and no child process outlives us.
 */
export async function startConform(
  settings: ConformSettings,
  services: readonly ServiceToRun[],
  log: Logger,
): Promise<RunningConform> {
  await mkdir(settings.stateDir, { recursive: true });
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((err: unknown) => log.error({ err }, 'error while stopping'));
    }
    cleanups.length = 0;
  };

  try {
    let embeddedNats: NatsServerHandle | null = null;
    let natsUrl = settings.natsUrl;
    if (!natsUrl) {
      embeddedNats = await startNatsServer({ storeDir: join(settings.stateDir, 'nats') });
      cleanups.push(async () => {
        await embeddedNats?.stop();
        log.info('embedded nats-server stopped');
      });
      natsUrl = embeddedNats.url;
      log.info(
        { url: natsUrl, monitor: embeddedNats.monitorUrl, pid: embeddedNats.pid },
        'embedded nats-server started',
      );
    }

    const bus: Bus = await connectBus({ servers: natsUrl, name: `conform@${hostname()}` });
    cleanups.push(() => bus.close());
    const eventLog = {
      maxBytes: settings.eventLogMaxBytes,
      replicas: settings.streamReplicas,
      placementTags: settings.placementTags,
    };
    await provisionEventLog(bus.jsm, eventLog);

    // One registry per process: every service here counts into it, /metrics serves it.
    const metrics = createBusMetrics({ jsm: bus.jsm });
    const context = (service: string): ServiceContext => ({
      bus,
      publisher: metrics.instrument(
        new EventPublisher(bus.js, { producer: `${service}@${hostname()}` }),
      ),
      log,
      eventLog,
      // The watcher defines the canonical paths; every other service sees them through the map.
      ...(service === 'watcher' ? {} : { pathMap: settings.pathMap }),
      onOutcome: metrics.onOutcome,
    });
    const started = async (service: Promise<RunningService>) => {
      const s = await service;
      cleanups.push(() => s.stop());
    };

    let statusUrl: string | null = null;
    if (services.includes('status')) {
      const readModels: ReadModels = openReadModels(join(settings.stateDir, 'read-models.sqlite'));
      cleanups.push(() => readModels.close());
      await started(startProjector(context('projector'), { readModels }));
      const server = await startStatusServer({
        readModels,
        log,
        host: settings.host,
        port: settings.port,
        isReady: async () => !bus.nc.isClosed(),
        bus,
        publisher: context('status').publisher,
        controlToken: settings.controlToken ?? undefined,
        busMetrics: metrics.registry,
      });
      cleanups.push(() => server.close());
      statusUrl = server.url;
      log.info({ url: server.url }, 'status server listening');
    } else if (settings.metricsPort !== null) {
      // Services run alone (compose, extra nodes) serve their metrics on a port of their own.
      const served = await serveMetrics(metrics.registry, {
        host: settings.host,
        port: settings.metricsPort,
      });
      cleanups.push(() => served.close());
      log.info({ url: served.url }, 'metrics served');
    }
    await checkNode(settings, services, log);
    // Downstream first, so each stage is consuming before the one before it publishes.
    if (services.includes('archiver')) {
      await started(
        startArchiver(context('archiver'), {
          // Configured paths are canonical (one config for every node); the archiver works in
          // this node's view, as the events it handles are translated.
          libraries: settings.libraries.map((l) => ({
            root: settings.pathMap.toLocal(l.root),
            archive: settings.pathMap.toLocal(l.archive),
            originals: l.originals,
          })),
        }),
      );
    }
    if (services.includes('verifier')) await started(startVerifier(context('verifier')));
    if (services.includes('encoder')) {
      const fromEnv = encoderOptionsFromEnv(process.env);
      await started(
        startEncoder(context('encoder'), {
          ...fromEnv,
          // One machine (`conform up`): no GPU node to wait for, GPU work is this node's too.
          libraries: (settings.libraries.length
            ? settings.libraries
            : settings.pathMap.mappings.map((m) => ({ root: m.from }))
          ).map((l) => l.root),
          cpuFallbackAfterMs:
            fromEnv.cpuFallbackAfterMs ?? (services.length === SERVICE_NAMES.length ? 0 : null),
          slots: settings.encoderSlots,
          encoder: settings.encoder,
        }),
      );
    }
    if (services.includes('planner')) {
      const quality = settings.quality;
      await started(
        startPlanner(
          context('planner'),
          quality
            ? {
                policy: quality.defaults,
                libraries: quality.libraries.map((l) => ({ root: l.root, policy: l.policy })),
              }
            : {},
        ),
      );
    }
    if (services.includes('watcher')) {
      await started(
        startWatcher(context('watcher'), {
          libraries: settings.libraries.map((l) => ({ root: l.root, ...l.watch })),
          stabilityWindowMs: settings.stabilityWindowMs,
        }),
      );
    }
    return { natsUrl, embeddedNats, statusUrl, stop: stopAll };
  } catch (err) {
    await stopAll();
    if (err instanceof CliError) throw err;
    throw new CliError('START_FAILED', `conform could not start: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Below this a node cannot even write an output; above it the encoder's low-disk pause rules. */
const SELF_CHECK_MIN_FREE_BYTES = 64 * 1024 ** 2;

/**
 * The start-up check of a node that touches files (encoder, verifier, archiver), before any
 * of them pulls work: it throws, naming the path and the mapping, and nothing is started. The
 * libraries are the configured ones, or on an encoder-only node the path map's canonical roots.
 */
async function checkNode(
  settings: ConformSettings,
  services: readonly ServiceToRun[],
  log: Logger,
): Promise<void> {
  // One pass for the most demanding role here: archiver ⊇ encoder ⊇ verifier.
  const role: NodeRole | undefined = (['archiver', 'encoder', 'verifier'] as const).find((r) =>
    services.includes(r),
  );
  if (!role) return;
  const libraries = settings.libraries.length
    ? settings.libraries
    : settings.pathMap.mappings.map((m) => ({ root: m.from }));
  if (libraries.length === 0) {
    log.warn(
      { role },
      'no library configured (--library, --config or --path-map): start-up check skipped',
    );
    return;
  }
  await runSelfCheck(
    planSelfCheck({
      role,
      libraries,
      map: settings.pathMap,
      workDirName: WORK_DIR_NAME,
      minFreeBytes: SELF_CHECK_MIN_FREE_BYTES,
    }),
    { map: settings.pathMap, node: `${role}@${hostname()}` },
  );
  log.info({ role, libraries: libraries.map((l) => l.root) }, 'start-up check passed');
}
