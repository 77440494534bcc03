import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import {
  localView,
  provisionEventLog,
  startSubscriptions,
  type EventHandler,
  type RunningService,
  type ServiceContext,
} from '@conform/bus';
import { idleSchedulingWorks } from '@conform/media';
import { decideEncode } from './decide.js';
import { detectEncodersOnce } from './detect.js';
import { planDevices, planProfiles, pullSlotsFor } from './devices.js';
import { handlePlan, type EncodeEnv } from './encode.js';
import { startHeartbeat } from './heartbeat.js';
import { finishedBefore, lastPlanned } from './log-reads.js';
import { PullGate } from './lookahead.js';
import { decideNvencSlots, probeNvencSessions } from './nvenc-sessions.js';
import { DEFAULT_ENCODE_NICENESS, LOWEST_NICENESS, type EncoderOptions } from './options.js';
import { PauseController } from './pause-controller.js';
import type { VideoCodec } from './profiles.js';
import { requeueLostWork } from './requeue.js';
import {
  poolsServed,
  retryRouterSubscription,
  routerSubscription,
  workSubscriptions,
} from './routing.js';
import { takenSizeClasses } from './size-limit.js';
import { DeviceSlots } from './slots.js';

/** Trial sessions opened at once at start: above every consumer driver's cap to date. */
const NVENC_SESSION_PROBES = 12;

/**
 * Starts the encoder: for each `file.planned` with decision `encode`, writes the output into
 * the library's work directory and publishes `encode.started` then `encode.completed`, or
 * `encode.failed` when the source cannot be encoded. `control.requested` retry re-encodes a
 * file's last plan; pause/resume, quiet windows and low disk stop it pulling new work.
 */
export async function startEncoder(
  ctx: ServiceContext,
  opts: EncoderOptions = {},
): Promise<RunningService> {
  const node = opts.node ?? `encoder@${hostname()}`;
  const log = ctx.log.child({ service: 'encoder', node });
  const forced = opts.encoder && opts.encoder !== 'auto' ? opts.encoder : null;
  // Work by size: the classes of files this node takes (all without a maximum file size).
  const maxFileSizeBytes = opts.maxFileSizeBytes ?? null;
  const sizeClasses = takenSizeClasses(maxFileSizeBytes);
  const availability = opts.availability ?? (await detectEncodersOnce());
  const { profiles, fallbacks, unavailable } = planProfiles(availability, forced);
  for (const [codec, profile] of profiles) {
    log.info({ codec, encoder: profile.encoder }, `encoding ${codec} with ${profile.encoder}`);
  }
  for (const { codec, err } of unavailable) {
    log.warn({ codec, err }, `cannot encode ${codec} on this machine`);
  }
  // Said once, not per codec or per file: the most common surprise on a new install.
  if (fallbacks.length > 0) {
    log.warn({ reasons: fallbacks }, 'no working GPU encoder: encoding on the CPU');
  }
  const plan = planDevices(profiles, opts);
  const { devices, limits } = plan;
  if (devices.includes('nvenc') && opts.nvencSessionProbe !== false) {
    // The driver's session cap, measured: more slots than sessions only produces failures.
    const profile = [...profiles.values()].find((p) => p.backend === 'nvenc')!;
    const decision = decideNvencSlots(
      await probeNvencSessions(profile, NVENC_SESSION_PROBES),
      opts.slots ?? opts.deviceSlots?.nvenc,
      limits.nvenc,
    );
    limits.nvenc = decision.slots;
    log.info({ nvencSlots: decision.slots, cap: decision.cap }, `NVENC slots: ${decision.reason}`);
  }
  const pullSlots = pullSlotsFor(plan);
  const deviceSlots = new DeviceSlots(limits);
  // The pause state is read from the log before the first pull, so the log must exist.
  await provisionEventLog(ctx.bus.jsm, ctx.eventLog);
  const pause = await PauseController.start(ctx, { ...opts, node, log });
  // Work comes by pool (see routing.ts): only the pools this node's encoders can serve.
  const pools = poolsServed(profiles, { cpuFallback: opts.cpuFallbackAfterMs != null });
  const heartbeat = await startHeartbeat(ctx, {
    node,
    intervalMs: opts.heartbeatIntervalMs ?? 10_000,
    log,
    snapshot: () => ({
      devices: devices.map((backend) => ({
        backend,
        encoders: [...profiles.values()].filter((p) => p.backend === backend).map((p) => p.encoder),
        ...deviceSlots.usage(backend),
      })),
      paused: pause.paused,
      pauseReasons: pause.reasons,
      pools: pools.native,
      fallbackPools: pools.fallback,
      sizeClasses: [...sizeClasses],
      ...(maxFileSizeBytes !== null ? { maxFileSizeBytes } : {}),
      ...(opts.libraries ? { libraries: [...opts.libraries] } : {}),
    }),
  });
  const unwatchPause = pause.onChange(() => heartbeat.beat());
  const ackWaitMs = opts.ackWaitMs ?? 60_000;
  const maxDeliver = opts.maxDeliver ?? 3;
  // Pull loops for every slot and a successor each (see lookahead.ts), gated per device.
  const loops = 2 * pullSlots;
  const maxInFlight = Math.max(loops, opts.maxInFlight ?? 16);
  const gates = new Map(devices.map((d) => [d, new PullGate(limits[d])]));
  const gateFor = (pool: string): PullGate | undefined => {
    const codec = pool.slice(pool.indexOf('-') + 1) as VideoCodec;
    return gates.get(profiles.get(codec)?.backend ?? 'cpu');
  };
  const niceness = opts.niceness ?? DEFAULT_ENCODE_NICENESS;
  const env: EncodeEnv = {
    ctx,
    node,
    profiles,
    deviceSlots,
    pause,
    heartbeat,
    maxDeliver,
    retryDelayMs: opts.retryDelayMs ?? 30_000,
    niceness,
    idle: niceness === LOWEST_NICENESS && (await idleSchedulingWorks()),
  };
  log.info(
    { devices, limits, pullSlots, maxInFlight, niceness, idleScheduling: env.idle },
    'encoder slots',
  );
  let service: RunningService;
  try {
    const limits = { ackWaitMs, maxDeliver, maxAckPending: maxInFlight };
    log.info({ pools: pools.native, fallback: pools.fallback, sizeClasses }, 'work pools');
    service = await startSubscriptions('encoder', ctx, [
      ...(await workSubscriptions(ctx.bus, {
        pools,
        sizeClasses,
        unlimited: maxFileSizeBytes === null,
        limits,
        pullSlots: loops,
        whenRunning: (signal) => pause.whenRunning(signal),
        cpuFallbackAfterMs: opts.cpuFallbackAfterMs ?? 0,
        // A native pool's jobs pass its device's gate (lookahead.ts); fallback jobs do not.
        native: (pool) => {
          const gate = gateFor(pool);
          return {
            beforePull: async (signal: AbortSignal) => {
              await pause.whenRunning(signal);
              await gate?.whenMayPull(signal);
            },
            handle: jobHandler(env, gate),
          };
        },
        handle: jobHandler(env),
      })),
      routerSubscription(ctx.bus, opts.routePreference ?? 'cpu'),
      // Retries are routed like plans, into the pool of the file's last plan.
      retryRouterSubscription(ctx.bus, opts.routePreference ?? 'cpu'),
    ]);
  } catch (err) {
    unwatchPause();
    await heartbeat.stop();
    await pause.stop();
    throw err;
  }
  // The work stream is a copy of the log: jobs it lost (deleted, a new NATS) are queued again.
  // Not awaited by stop: a long log read must not hold up a stop (the next start checks again).
  const stopping = new AbortController();
  void requeueLostWork(ctx.bus, opts.routePreference ?? 'cpu', log, stopping.signal, {
    replicas: ctx.eventLog?.replicas,
  }).catch((err: unknown) => {
    if (!stopping.signal.aborted)
      log.warn({ err }, 'could not check the work queue against the log');
  });
  return {
    name: 'encoder',
    stop: async () => {
      stopping.abort();
      await service.stop();
      unwatchPause();
      await heartbeat.stop();
      await pause.stop();
    },
  };
}

/** A pool's job: a plan, or a retry of the file's last plan (see retryRouterSubscription). */
function jobHandler(env: EncodeEnv, gate?: PullGate): EventHandler {
  const planned = plannedHandler(env, gate);
  const retry = retryHandler(env);
  return (event, hctx) => (event.type === 'control.requested' ? retry : planned)(event, hctx);
}

function plannedHandler(env: EncodeEnv, gate?: PullGate): EventHandler {
  return async (event, hctx) => {
    if (event.type !== 'file.planned') return;
    const hand = gate?.enter();
    try {
      if (hctx.attempt > 1 && (await finishedBefore(env.ctx, event))) {
        // A redelivery whose earlier run did finish: its ack (or the publish's) was lost, as in
        // a cluster failover. The output may already be swapped in; encoding again would only
        // leave a stray output and a second encode.started behind the replaced file.
        hctx.log.info({ path: event.data.path }, 'already encoded by an earlier delivery');
        return;
      }
      await handlePlan(env, event, decideEncode(event, existsSync), hctx, hand);
    } finally {
      hand?.leave();
    }
  };
}

/**
 * `conform retry PATH` publishes control.requested {retry} for the file; the router queues it
 * in the pool of the file's last plan, and the node that takes it from there reads that plan
 * from the event log and encodes it again into a fresh output named by the request's id, so
 * neither a dead-lettered plan nor an old output is in the way.
 */
function retryHandler(env: EncodeEnv): EventHandler {
  return async (event, hctx) => {
    if (event.type !== 'control.requested' || event.data.action !== 'retry') return;
    const found = await lastPlanned(env.ctx, event.fileId);
    // Read straight from the log, so in canonical paths: see it as this node does.
    const planned = found && env.ctx.pathMap ? localView(found, env.ctx.pathMap) : found;
    if (!planned) {
      hctx.log.warn({ path: event.data.path }, 'retry requested for a file that was never planned');
      return;
    }
    hctx.log.info(
      { path: planned.data.path, by: event.data.requestedBy },
      'retrying the last plan',
    );
    await handlePlan(env, planned, decideEncode(planned, existsSync, event.id), hctx);
  };
}
