// One job: start the services this process runs, in order, on one bus (embedded nats-server or
// --nats), and hand back the one stopper that stops them. It is long because each service's
// options are translated from the settings here, in one place, rather than in five commands.
import { mkdir } from 'node:fs/promises';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import {
  BusHealth,
  connectBus,
  EVENT_LOG_STREAM,
  createBusMetrics,
  EventPublisher,
  serveMetrics,
  planSelfCheck,
  provisionEventLog,
  patiently,
  SERVICE_API_TIMEOUT_MS,
  runSelfCheck,
  startEmbeddedNats,
  type NodeRole,
  type Bus,
  type Logger,
  type NatsServerHandle,
  type RunningService,
  type ServiceContext,
} from '@conform/bus';
import { WORK_DIR_NAME } from '@conform/contracts';
import type { PlannerOptions } from '@conform/planner';
import type { ReadModels } from '@conform/projections';
import { CliError } from './errors.js';
import { Stopper, StopPhase } from './stopper.js';
import { ServiceStartFailed, startFailure } from './start-failure.js';
import type { ConformSettings } from './settings.js';
import { loadServiceModules, type ServiceModules } from './service-modules.js';

/** The services `conform run` can start alone; `conform up` starts them all. */
export const SERVICE_NAMES = [
  'watcher',
  'planner',
  'encoder',
  'verifier',
  'archiver',
  'notify',
  'status',
] as const;
export type ServiceToRun = (typeof SERVICE_NAMES)[number];

/** A running conform: what was started, and how to stop all of it. */
export interface RunningConform {
  natsUrl: string;
  /** Set when this process started its own nats-server. */
  embeddedNats: NatsServerHandle | null;
  /** Set when the status service runs in this process. */
  statusUrl: string | null;
  /** The clean stop: see {@link Stopper.stop}. */
  stop(opts?: { deadlineMs?: number }): Promise<void>;
  /** The fast stop of a second signal: see {@link Stopper.force}. */
  force(): Promise<void>;
}

/**
 * Starts the chosen services against NATS. With no NATS URL, starts an embedded nats-server
 * (JetStream, free loopback port, store under the state directory, one server per store) and
 * owns its lifetime. Stopping stops the services in parallel, then the read models, the bus and
 * the server, within one deadline, so no child process outlives us.
 */
export async function startConform(
  settings: ConformSettings,
  services: readonly ServiceToRun[],
  log: Logger,
  opts: { signal?: AbortSignal } = {},
): Promise<RunningConform> {
  await mkdir(settings.stateDir, { recursive: true });
  const stopper = new Stopper(log);
  // Started beside the others; on a failed start it is waited for and stopped with them.
  let watcherStarted: Promise<void> | null = null;

  // Loaded while the embedded server starts (see service-modules.ts); awaited once it is up.
  const loading = loadServiceModules();
  loading.catch(() => undefined);
  try {
    let embeddedNats: NatsServerHandle | null = null;
    let natsUrl = settings.natsUrl;
    if (!natsUrl) {
      const embedded = await startEmbeddedNats({ stateDir: settings.stateDir, log });
      embeddedNats = stopper.embeddedNats = embedded;
      stopper.add(StopPhase.Server, 'nats-server', async () => {
        await embedded.stop();
        log.info('embedded nats-server stopped');
      });
      natsUrl = embeddedNats.url;
      log.info(
        { url: natsUrl, monitor: embeddedNats.monitorUrl, pid: embeddedNats.pid },
        'embedded nats-server started',
      );
    }
    const {
      watcher: { startWatcher },
      planner: { dryRunFromLog, policyLookup, startPlanner },
      encoder: { detectEncodersCached, encoderOptionsFromEnv, startEncoder },
      verifier: { startVerifier },
      archiver: { startArchiver },
      notify: { startNotify },
      projections: { lastAppliedSequence, openReadModels, startProjector },
      status: { startStatusServer },
    } = await loading;

    // Services wait for NATS themselves (retry with backoff, logged), so a stack starts in any order.
    const bus: Bus = await connectBus({
      servers: natsUrl,
      name: `conform@${hostname()}`,
      apiTimeoutMs: SERVICE_API_TIMEOUT_MS,
      retry:
        settings.natsWaitMs > 0
          ? { log, signal: opts.signal, timeoutMs: settings.natsWaitMs }
          : undefined,
    });
    stopper.add(StopPhase.Bus, 'bus', () => bus.close());
    // Each service on a connection of its own when several share the process: nats-server 2.9
    // answers a connection's JetStream requests one after another in its read loop, so a bulk
    // read of the log (the planner's re-plan pass, the projector's catch-up, the watcher's
    // catalogue) or one slow consumer lookup over a large log held up the requests of every
    // service behind it until they timed out (a 1,000,000-file restart failed to start so).
    // It is also how the compose stack runs, one service per process.
    const buses = new Map<string, Promise<Bus>>();
    const ownBus = (service: string): Promise<Bus> => {
      if (services.length === 1) return Promise.resolve(bus);
      let own = buses.get(service);
      if (!own) buses.set(service, (own = connectOwnBus(service)));
      return own;
    };
    const connectOwnBus = async (service: string): Promise<Bus> => {
      const own = await connectBus({
        servers: natsUrl,
        name: `conform-${service}@${hostname()}`,
        apiTimeoutMs: SERVICE_API_TIMEOUT_MS,
      });
      stopper.add(StopPhase.Bus, `${service} bus`, () => own.close());
      return own;
    };
    const eventLog = {
      maxBytes: settings.eventLogMaxBytes,
      replicas: settings.streamReplicas,
      placementTags: settings.placementTags,
    };
    await patiently('event log', () => provisionEventLog(bus.jsm, eventLog), { log });

    // One registry per process: every service here counts into it, /metrics serves it.
    const metrics = createBusMetrics({
      jsm: bus.jsm,
      // Only the services that write into libraries and archives watch their free space.
      disks: services.some((s) => s === 'watcher' || s === 'archiver' || s === 'encoder')
        ? settings.libraries.flatMap((l) => [
            { path: l.root, role: 'library' as const },
            { path: l.archive, role: 'archive' as const },
          ])
        : [],
    });
    const health = new BusHealth(bus.nc, log, { registry: metrics.registry });
    const context = (service: string, on: Bus = bus): ServiceContext => ({
      bus: on,
      publisher: metrics.instrument(
        new EventPublisher(on.js, { producer: `${service}@${hostname()}`, nc: on.nc }),
      ),
      log,
      eventLog,
      // The watcher defines the canonical paths; every other service sees them through the map.
      ...(service === 'watcher' ? {} : { pathMap: settings.pathMap }),
      onOutcome: metrics.onOutcome,
      health,
    });
    // A start that times out is started again (patiently: nats-server right after restoring a
    // large log, on a busy machine, answers late, not never; each start undoes what it began
    // when it fails), and a start that fails says which service it was ("timeout" alone names none).
    const started = async (
      name: string,
      start: () => Promise<RunningService>,
      { again = true } = {},
    ) => {
      const attempt = again ? () => patiently(`the ${name}'s start`, start, { log }) : start;
      const s = await attempt().catch((err: unknown) => {
        throw new ServiceStartFailed(name, err);
      });
      stopper.add(StopPhase.Services, s.name, () => s.stop());
    };

    let statusUrl: string | null = null;
    if (services.includes('status')) {
      const readModels: ReadModels = openReadModels(join(settings.stateDir, 'read-models.sqlite'));
      stopper.add(StopPhase.ReadModels, 'read models', () => readModels.close());
      await started('projector', async () =>
        startProjector(context('projector', await ownBus('projector')), { readModels }),
      );
      health.addCheck('projection', projectionStallCheck(bus, readModels, lastAppliedSequence));
      const server = await startStatusServer({
        readModels,
        log,
        host: settings.host,
        port: settings.port,
        isReady: () => health.report(),
        bus,
        publisher: context('status').publisher,
        controlToken: settings.controlToken ?? undefined,
        busMetrics: metrics.registry,
        dryRun: () => dryRunFromLog(bus, policyLookup(plannerPolicies(settings))),
      });
      stopper.add(StopPhase.Services, 'status server', () => server.close());
      statusUrl = server.url;
      log.info({ url: server.url }, 'status server listening');
    } else if (settings.metricsPort !== null) {
      // Services run alone (compose, extra nodes) serve their metrics on a port of their own.
      const served = await serveMetrics(metrics.registry, {
        host: settings.host,
        port: settings.metricsPort,
      });
      stopper.add(StopPhase.Services, 'metrics server', () => served.close());
      log.info({ url: served.url }, 'metrics served');
    }
    await checkNode(settings, services, log);
    let scanSettled = () => {};
    const scan = { promise: new Promise<void>((resolve) => (scanSettled = resolve)) };
    // The watcher first of all (the check above passed): a restart's scan, its slowest part,
    // needs nothing of the services started after it, whose consumers are durable.
    watcherStarted = (async () => {
      if (services.includes('watcher')) {
        await started(
          'watcher',
          async () =>
            startWatcher(context('watcher', await ownBus('watcher')), {
              libraries: settings.libraries.map((l) => ({ root: l.root, ...l.watch })),
              stabilityWindowMs: settings.stabilityWindowMs,
              // The catalogue snapshot: a restart reads the log after it only.
              stateDir: settings.stateDir,
              onScanSettled: () => scanSettled(),
            }),
          // Its start is not repeated: it retries its own log reads, and has watches to undo.
          { again: false },
        );
      }
    })();
    // Awaited below (or in the catch): a failure meanwhile must not count as unhandled. A
    // watcher that failed to start scans nothing: the probes need not wait for it.
    watcherStarted.catch(() => scanSettled());
    // Downstream first, so each stage is consuming before the one before it publishes (the
    // watcher aside: what it publishes first waits in the log for the durable consumers).
    if (services.includes('notify')) {
      const integrations = settings.quality?.integrations;
      const configured =
        integrations &&
        integrations.mediaServers.length +
          integrations.arr.length +
          integrations.notifications.length >
          0;
      if (configured)
        await started('notify', async () =>
          startNotify(context('notify', await ownBus('notify')), { integrations }),
        );
      else if (services.length === 1) {
        throw new CliError(
          'NOTIFY_NOT_CONFIGURED',
          'conform run notify needs a --config whose integrations: section names at least one media server, *arr app or notification',
        );
      } else log.info('no integrations configured; notify not started');
    }
    if (services.includes('archiver')) {
      await started('archiver', async () =>
        startArchiver(context('archiver', await ownBus('archiver')), {
          // Configured paths are canonical (one config for every node); the archiver works in
          // this node's view, as the events it handles are translated.
          libraries: settings.libraries.map((l) => ({
            root: settings.pathMap.toLocal(l.root),
            archive: settings.pathMap.toLocal(l.archive),
            originals: l.originals,
            keepMtime: l.keepMtime,
            workRetentionHours: l.workRetentionHours,
          })),
        }),
      );
    }
    if (services.includes('verifier'))
      await started('verifier', async () =>
        startVerifier(context('verifier', await ownBus('verifier'))),
      );
    // The encoder's start (a trial encode per GPU encoder), the planner's (re-deciding every
    // known file) and the watcher's (reading the log's file events, walking every folder) each
    // take seconds and need nothing of each other: the consumers are durable and read from the
    // start of the log, so what the watcher publishes before the planner consumes waits in the
    // stream. They start side by side; an unchanged restart is then as long as the slowest.
    const encoderStarted = (async () => {
      if (services.includes('encoder')) {
        const fromEnv = encoderOptionsFromEnv(process.env);
        await started('encoder', async () =>
          startEncoder(context('encoder', await ownBus('encoder')), {
            // The trial encodes cost seconds of both cores: remembered in the state directory
            // until the ffmpeg build, the GPU device nodes or the NVIDIA driver change.
            availability: await detectEncodersCached(settings.stateDir, log),
            ...fromEnv,
            // One machine (`conform up`): no GPU node to wait for, GPU work is this node's too.
            libraries: (settings.libraries.length
              ? settings.libraries
              : settings.pathMap.mappings.map((m) => ({ root: m.from }))
            ).map((l) => l.root),
            cpuFallbackAfterMs:
              fromEnv.cpuFallbackAfterMs ?? (services.length === SERVICE_NAMES.length ? 0 : null),
            slots: settings.encoderSlots,
            maxFileSizeBytes: settings.maxFileSizeBytes,
            encoder: settings.encoder,
            niceness: settings.encodeNiceness,
          }),
        );
      }
    })();
    // Probes yield to the watcher's first scan when both run here (see firstScanProbeSlots).
    const sharesScan = services.includes('watcher') && services.includes('planner');
    const plannerStarted = (async () => {
      if (services.includes('planner')) {
        await started('planner', async () =>
          startPlanner(context('planner', await ownBus('planner')), {
            ...plannerPolicies(settings),
            ...(sharesScan
              ? { firstScan: { until: scan.promise, slots: firstScanProbeSlots() } }
              : {}),
          }),
        );
      }
    })();
    const outcomes = await Promise.allSettled([encoderStarted, plannerStarted, watcherStarted]);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') throw outcome.reason;
    }
    log.info({ services }, 'all services started');
    return {
      natsUrl,
      embeddedNats,
      statusUrl,
      stop: (opts) => stopper.stop(opts),
      force: () => stopper.force(),
    };
  } catch (err) {
    await watcherStarted?.catch(() => {});
    const failure = startFailure(err);
    // The stack goes to the log, the message to the terminal.
    log.error(
      { err: failure.cause, service: failure.service },
      'start failed; stopping what started',
    );
    await stopper.stop();
    throw failure.error;
  }
}

/** The policies the planner decides with: quality.yaml's, or the built-in default. */
function plannerPolicies(settings: ConformSettings): Pick<PlannerOptions, 'policy' | 'libraries'> {
  const quality = settings.quality;
  return quality
    ? {
        policy: quality.defaults,
        libraries: quality.libraries.map((l) => ({
          root: l.root,
          policy: l.policy,
          order: l.order,
          priority: l.priority,
          ...(l.parallelism !== null ? { parallelism: l.parallelism } : {}),
        })),
      }
    : {};
}

/** How long the read models may trail the log without moving before readiness says so. */
export const PROJECTION_STALL_MS = 30_000;

/**
 * Probes at once while the watcher's first scan runs in the same `conform up`: the cores but
 * two (conform's main thread and nats-server, which the scan keeps busy). On two cores, none:
 * the scan then had one core less for each probe (100,000 files: 11 CPU s of probes before
 * the last file reached the read model, a fifth of the run), and it is bounded and makes the
 * whole library visible, while the probes are the long tail (one per file, minutes to hours
 * for a large library) that starts the moment the scan settles. A watcher that fails to
 * start opens the gate too. Encodes keep their niceness; on a first run nothing is planned
 * for them yet.
 */
export function firstScanProbeSlots(cores: number = availableParallelism()): number {
  return Math.max(0, cores - 2);
}

/**
 * Readiness check of the projector: lagging is normal under a burst of events, so what is not
 * ready is a lag that has not shrunk for {@link PROJECTION_STALL_MS} (a projector that stopped
 * applying: a broken read model, a consumer that died).
 */
function projectionStallCheck(
  bus: Bus,
  readModels: ReadModels,
  lastAppliedSequence: ServiceModules['projections']['lastAppliedSequence'],
): () => Promise<string | null> {
  let lastApplied = -1;
  let movedAt = Date.now();
  return async () => {
    const info = await bus.jsm.streams.info(EVENT_LOG_STREAM);
    const applied = await lastAppliedSequence(readModels.db);
    const lag = Math.max(0, info.state.last_seq - applied);
    if (applied !== lastApplied || lag === 0) {
      lastApplied = applied;
      movedAt = Date.now();
      return null;
    }
    const stalled = Date.now() - movedAt;
    return stalled >= PROJECTION_STALL_MS
      ? `read models ${lag} events behind the log and not moving for ${Math.round(stalled / 1000)} s`
      : null;
  };
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
