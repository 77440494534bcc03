import { existsSync } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import {
  lastEventOf,
  localView,
  provisionEventLog,
  startSubscriptions,
  TransientError,
  backoffDelayMs,
  classifyFsError,
  type EventHandler,
  type HandlerContext,
  type RunningService,
  type ServiceContext,
} from '@conform/bus';
import {
  assertNever,
  progressSubjectFor,
  type EncodeProgressMessage,
  type EventEnvelope,
} from '@conform/contracts';
import {
  FfmpegAbortedError,
  FfmpegFailedError,
  MediaUnreadableError,
  probeVideoColour,
  runFfmpeg,
  tryProbeMedia,
} from '@conform/media';
import { buildEncodeArgs } from './args.js';
import { extractCoverArt } from './attachments.js';
import { chooseDecode } from './hwdecode.js';
import {
  classifyFailure,
  decideEncode,
  diskNeedFor,
  encodeSettingsFor,
  sizeGuardOutcome,
  sizeLimitFor,
  type EncodeAction,
} from './decide.js';
import { chooseEncoder, detectEncodersOnce, type EncoderAvailability } from './detect.js';
import { EncoderError, OutputCommitError } from './errors.js';
import { PauseController, type PauseOptions } from './pause-controller.js';
import { makeWorkDir, outOfSpace, waitForRoom } from './room.js';
import {
  CPU_ENCODER,
  ENCODE_PROFILES,
  type Backend,
  type EncodeProfile,
  type EncoderName,
  type VideoCodec,
} from './profiles.js';
import { etaSeconds, ProgressThrottle, sizeGuard } from './progress.js';
import { DeviceSlots } from './slots.js';
import { decideNvencSlots, isOutOfNvencSessions, probeNvencSessions } from './nvenc-sessions.js';
import {
  workSubscriptions,
  poolsServed,
  retryRouterSubscription,
  routerSubscription,
  type RoutePreference,
} from './routing.js';
import { startHeartbeat, type Heartbeat } from './heartbeat.js';
import { requeueLostWork } from './requeue.js';
import { takenSizeClasses } from './size-limit.js';

/** Trial sessions opened at once at start: above every consumer driver's cap to date. */
const NVENC_SESSION_PROBES = 12;

/** Options of {@link startEncoder}. */
export interface EncoderOptions extends PauseOptions {
  /** Encodes at once per device in this process; overrides every device's default. */
  slots?: number;
  /** Encodes at once per device kind; defaults: cpu 1, nvenc 3, qsv 2, vaapi 2. */
  deviceSlots?: Partial<Record<Backend, number>>;
  /** `auto` (the default) picks by trial encodes; naming one forces it for its codec. */
  encoder?: 'auto' | EncoderName;
  /**
   * The consumer's max_ack_pending: messages in flight across every encoder node. Set it the
   * same on every node (the last one started wins). Defaults to 16.
   */
  maxInFlight?: number;
  /** How long a delivery may go without an in-progress ack; defaults to 60 s. */
  ackWaitMs?: number;
  /** Deliveries before a plan is dead-lettered; defaults to 3. */
  maxDeliver?: number;
  /** Delay before a transient failure is retried; defaults to 30 s. */
  retryDelayMs?: number;
  /** Name of this node in pause events and progress; defaults to `encoder@<hostname>`. */
  node?: string;
  /**
   * A CPU-only node takes GPU work (pool `gpu-<codec>`) once it has waited this long for a GPU
   * node; absent: never. `conform up` (one machine) sets 0.
   */
  cpuFallbackAfterMs?: number | null;
  /**
   * Which pool plans are queued in (this node routes too): `cpu` (the default) lets any node
   * that encodes the codec take it; `gpu` keeps it for GPU nodes. Same on every node.
   */
  routePreference?: RoutePreference;
  /** Measure the NVENC session cap with concurrent trial sessions at start; default true. */
  nvencSessionProbe?: boolean;
  /** Encoder availability, when already detected (tests, `conform doctor`). */
  availability?: readonly EncoderAvailability[];
  /** Canonical library roots this node reaches (its start-up check passed), for the nodes view. */
  libraries?: readonly string[];
  /**
   * The largest source this node takes (`--max-file-size`, `CONFORM_MAX_FILE_SIZE`), e.g. for a
   * small work disk; rounded down to a size class (see `SIZE_CLASSES`). Absent: any size.
   */
  maxFileSizeBytes?: number | null;
  /** How often the node writes its heartbeat to the nodes bucket; defaults to 10 s. */
  heartbeatIntervalMs?: number;
}

const CODECS: readonly VideoCodec[] = ['hevc', 'h264', 'av1'];

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
  const profiles = new Map<VideoCodec, EncodeProfile>();
  const fallbacks: string[] = [];
  for (const codec of CODECS) {
    try {
      const choice = chooseEncoder(codec, availability, forced);
      profiles.set(codec, choice.profile);
      if (choice.cpuFallback) fallbacks.push(`${codec}: ${choice.reason}`);
      log.info(
        { codec, encoder: choice.profile.encoder },
        `encoding ${codec} with ${choice.profile.encoder}`,
      );
    } catch (err) {
      log.warn({ codec, err }, `cannot encode ${codec} on this machine`);
    }
  }
  // Said once, not per codec or per file: the most common surprise on a new install.
  if (fallbacks.length > 0) {
    log.warn({ reasons: fallbacks }, 'no working GPU encoder: encoding on the CPU');
  }
  const devices = [...new Set([...profiles.values()].map((p) => p.backend))];
  const limits = {} as Record<Backend, number>;
  for (const backend of ['cpu', 'nvenc', 'qsv', 'vaapi'] as const) {
    const fallback = Math.max(
      ...Object.values(ENCODE_PROFILES)
        .filter((p) => p.backend === backend)
        .map((p) => p.defaultSlots),
    );
    limits[backend] = Math.max(1, opts.slots ?? opts.deviceSlots?.[backend] ?? fallback);
  }
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
  const pullSlots = devices.reduce((sum, d) => sum + limits[d], 0) || 1;
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
  const maxInFlight = Math.max(pullSlots, opts.maxInFlight ?? 16);
  const env: EncodeEnv = {
    ctx,
    node,
    profiles,
    deviceSlots,
    pause,
    heartbeat,
    maxDeliver,
    retryDelayMs: opts.retryDelayMs ?? 30_000,
  };
  log.info({ devices, limits, pullSlots, maxInFlight }, 'encoder slots');
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
        pullSlots,
        whenRunning: (signal) => pause.whenRunning(signal),
        cpuFallbackAfterMs: opts.cpuFallbackAfterMs ?? 0,
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
  void requeueLostWork(ctx.bus, opts.routePreference ?? 'cpu', log, stopping.signal).catch(
    (err: unknown) => {
      if (!stopping.signal.aborted)
        log.warn({ err }, 'could not check the work queue against the log');
    },
  );
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

interface EncodeEnv {
  ctx: ServiceContext;
  node: string;
  profiles: Map<VideoCodec, EncodeProfile>;
  deviceSlots: DeviceSlots;
  pause: PauseController;
  heartbeat: Heartbeat;
  maxDeliver: number;
  retryDelayMs: number;
}

/** A pool's job: a plan, or a retry of the file's last plan (see retryRouterSubscription). */
function jobHandler(env: EncodeEnv): EventHandler {
  const planned = plannedHandler(env);
  const retry = retryHandler(env);
  return (event, hctx) => (event.type === 'control.requested' ? retry : planned)(event, hctx);
}

function plannedHandler(env: EncodeEnv): EventHandler {
  return async (event, hctx) => {
    if (event.type !== 'file.planned') return;
    if (hctx.attempt > 1 && (await finishedBefore(env.ctx, event))) {
      // A redelivery whose earlier run did finish: its ack (or the publish's) was lost, as in a
      // cluster failover. The output may already be swapped in; encoding again would only
      // leave a stray output and a second encode.started behind the replaced file.
      hctx.log.info({ path: event.data.path }, 'already encoded by an earlier delivery');
      return;
    }
    await handlePlan(env, event, decideEncode(event, existsSync), hctx);
  };
}

/**
 * `conform retry PATH` publishes control.requested {retry} for the file; the router queues it
 * in the pool of the file's last plan, and the node that takes it from there reads that plan
 * from the event log and encodes it again into a fresh output
 * named by the request's id, so neither a dead-lettered plan nor an old output is in the way.
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

/** Whether this very plan already ended in encode.completed or a permanent encode.failed. */
async function finishedBefore(
  ctx: ServiceContext,
  planned: EventEnvelope<'file.planned'>,
): Promise<boolean> {
  try {
    const [completed, failed] = await Promise.all([
      lastEventOf(ctx.bus, 'encode.completed', planned.fileId),
      lastEventOf(ctx.bus, 'encode.failed', planned.fileId),
    ]);
    return (
      completed?.event.causationId === planned.id ||
      (failed?.event.causationId === planned.id && failed.event.data.permanent)
    );
  } catch (err) {
    throw new TransientError(`cannot read the encode history of ${planned.fileId}`, { cause: err });
  }
}

async function lastPlanned(
  ctx: ServiceContext,
  fileId: string,
): Promise<EventEnvelope<'file.planned'> | null> {
  try {
    return (await lastEventOf(ctx.bus, 'file.planned', fileId))?.event ?? null;
  } catch (err) {
    throw new TransientError(`cannot read the last plan of ${fileId}`, { cause: err });
  }
}

async function handlePlan(
  env: EncodeEnv,
  planned: EventEnvelope<'file.planned'>,
  action: EncodeAction,
  hctx: HandlerContext,
): Promise<void> {
  switch (action.kind) {
    case 'ignore':
      hctx.log.debug({ path: planned.data.path, why: action.why }, 'nothing to encode');
      return;
    case 'already-encoded':
      // A redelivery after the output was committed: report it again, dedupe drops the copy.
      await emitCompleted(
        planned,
        action,
        env.profiles.get(action.target.videoCodec)?.encoder ?? 'unknown',
        // Nothing was encoded this time, so there is no rate to report.
        { elapsedMs: 0, fps: null },
        hctx,
      );
      return;
    case 'encode':
      env.pause.watchDisk(planned.data.library);
      await encode(env, planned, action, hctx);
      return;
    default:
      assertNever(action, 'encode action');
  }
}

/**
 * Encodes one plan, first waiting for the room it needs on the library's filesystem (see
 * {@link waitForRoom}). A run that still hits a full disk waits again with twice the room.
 */
async function encode(
  env: EncodeEnv,
  planned: EventEnvelope<'file.planned'>,
  action: Extract<EncodeAction, { kind: 'encode' }>,
  hctx: HandlerContext,
): Promise<void> {
  let need = diskNeedFor(planned);
  for (let run = 1; ; run++) {
    await waitForRoom(env.pause, planned, need, hctx, run);
    if ((await encodeOnce(env, planned, action, hctx, run)) === 'done') return;
    need = { bytes: need.bytes * 2, why: `twice ${need.why}: the last run ran out of space` };
  }
}

async function encodeOnce(
  env: EncodeEnv,
  planned: EventEnvelope<'file.planned'>,
  action: Extract<EncodeAction, { kind: 'encode' }>,
  hctx: HandlerContext,
  run: number,
): Promise<'done' | 'out-of-space'> {
  const { library, path, durationSec } = planned.data;
  // A remux copies the video: it needs no working encoder, only the codec's manifest.
  const remux = action.target.videoCopy === true;
  const profile =
    env.profiles.get(action.target.videoCodec) ??
    (remux ? ENCODE_PROFILES[CPU_ENCODER[action.target.videoCodec]] : undefined);
  if (!profile) {
    await hctx.emit({
      type: 'encode.failed',
      data: {
        library,
        path,
        encoder: 'none',
        reason: `no working ${action.target.videoCodec} encoder on ${env.node} (see conform doctor)`,
        permanent: true,
      },
    });
    return 'done';
  }
  const encoder = remux ? 'copy' : profile.encoder;
  const log = hctx.log.child({ path, outputPath: action.outputPath, encoder });
  let colour;
  try {
    colour = await probeVideoColour(path);
  } catch (err) {
    if (!(err instanceof MediaUnreadableError)) throw err;
    await hctx.emit({
      type: 'encode.failed',
      data: {
        library,
        path,
        encoder,
        reason: `source is unreadable: ${err.reason}`,
        permanent: true,
      },
    });
    return 'done';
  }
  let args: string[];
  // Decode on the GPU where the source allows and a trial decode works; else in software.
  const decode = await chooseDecode(profile, path, action.target, hctx.signal);
  log.info({ hwDecode: decode.hwDecode, why: decode.reason }, 'decode path');
  const settings = {
    ...encodeSettingsFor(action.target, profile, colour),
    hwDecode: decode.hwDecode,
  };
  // The verifier holds the output to the format really written when it differs from the plan's.
  const written = settings.formatFallback
    ? { pixFmt: settings.pixFmt!, pixFmtReason: settings.formatFallback }
    : {};
  try {
    args = buildEncodeArgs({ inputPath: path, outputPath: action.partialPath, ...settings });
  } catch (err) {
    if (!(err instanceof EncoderError)) throw err;
    await hctx.emit({
      type: 'encode.failed',
      data: { library, path, encoder, reason: err.message, permanent: true },
    });
    return 'done';
  }

  const release = await env.deviceSlots.acquire(remux ? 'cpu' : profile.backend, hctx.signal);
  // Slots in use are node state the nodes view shows: say so now, not at the next beat.
  env.heartbeat.beat();
  // Stops this encode for `pause --now` or the size guard, apart from the worker's own stop.
  const local = new AbortController();
  const unregister = env.pause.onCancelRunning(() => {
    if (hctx.attempt >= env.maxDeliver) {
      log.info('pause --now: letting the last allowed attempt finish rather than dead-letter it');
      return;
    }
    local.abort(new Error('paused with --now'));
  });
  let covers: Awaited<ReturnType<typeof extractCoverArt>> | null = null;
  try {
    try {
      await makeWorkDir(dirname(action.outputPath));
      // A killed earlier attempt may have left a partial (or an orphaned ffmpeg writing one):
      // unlink it so this run writes a fresh file.
      await rm(action.partialPath, { force: true });
    } catch (err) {
      const verdict = classifyFsError(err);
      if (!verdict.permanent || verdict.code === 'ENOSPC') throw err;
      await hctx.emit({
        type: 'encode.failed',
        data: { library, path, encoder, reason: verdict.reason, permanent: true },
      });
      return 'done';
    }
    // mkv takes cover art as an image attachment: extracted first, attached by the encode.
    covers = await extractCoverArt(path, action.target, action.partialPath, hctx.signal);
    if (covers.files.length > 0) {
      args = buildEncodeArgs({
        inputPath: path,
        outputPath: action.partialPath,
        ...settings,
        attachFiles: covers.files,
      });
    }
    await hctx.emit(
      {
        type: 'encode.started',
        data: { library, path, encoder, outputPath: action.outputPath, attempt: hctx.attempt },
      },
      {
        discriminator: run === 1 ? `attempt-${hctx.attempt}` : `attempt-${hctx.attempt}-run-${run}`,
      },
    ); // every attempt (and every run after waiting for room) is its own fact
    const limitBytes = sizeLimitFor(planned);
    const throttle = new ProgressThrottle(1_000);
    let guardReason: string | null = null;
    let guardProjected = 0;
    // ffmpeg's fps is the average since the encode began, so its last report covers all of it.
    let averageFps: number | null = null;
    const started = Date.now();
    try {
      await runFfmpeg(args, {
        signal: AbortSignal.any([hctx.signal, local.signal]),
        durationSec,
        onProgress: (p) => {
          if (p.fps !== null && Number.isFinite(p.fps) && p.fps > 0) averageFps = p.fps;
          const verdict = sizeGuard(p, limitBytes);
          if (verdict.stop && !guardReason) {
            guardReason = verdict.reason;
            guardProjected = verdict.projectedBytes;
            local.abort(new Error(verdict.reason));
          }
          if (!throttle.admit(Date.now(), p.percent)) return;
          const message: EncodeProgressMessage = {
            fileId: planned.fileId,
            library,
            path,
            node: env.node,
            encoder,
            attempt: hctx.attempt,
            percent: p.percent,
            fps: p.fps,
            speed: p.speed,
            etaSec: etaSeconds(p, durationSec),
            outTimeSec: p.outTimeSec,
            outBytes: p.outBytes,
            time: new Date().toISOString(),
          };
          env.ctx.bus.nc.publish(progressSubjectFor(planned.fileId), JSON.stringify(message));
        },
      });
      await commitOutput(action.partialPath, action.outputPath);
    } catch (err) {
      await rm(action.partialPath, { force: true });
      if (hctx.signal.aborted) {
        log.info('stopped mid-encode; removed the partial output');
        throw err;
      }
      if (guardReason) {
        log.warn({ reason: guardReason }, 'size guard stopped the encode');
        await hctx.emit({
          type: 'encode.failed',
          data: {
            library,
            path,
            encoder,
            reason: guardReason,
            permanent: true,
            // The archiver turns this into file.kept: not worth encoding is not a failure.
            sizeGuard: sizeGuardOutcome(planned, guardProjected),
            policyVersion: planned.data.policyVersion,
          },
        });
        return 'done';
      }
      if (outOfSpace(err)) {
        log.warn('the work folder ran out of space mid-encode; removed the partial output');
        return 'out-of-space';
      }
      if (local.signal.aborted || err instanceof FfmpegAbortedError) {
        log.info('paused with --now; returned the plan to the queue');
        await hctx.emit(
          {
            type: 'encode.requeued',
            data: {
              library,
              path,
              reason: 'manual',
              detail: 'pause --now stopped the running encode; it starts again on resume',
              attempt: hctx.attempt,
              abandoned: true,
            },
          },
          { discriminator: `now-${hctx.attempt}-${run}` },
        );
        throw new TransientError(`encoding ${path} was stopped by pause --now`, {
          cause: err,
          delayMs: 1_000,
        });
      }
      if (
        err instanceof FfmpegFailedError &&
        profile.backend === 'nvenc' &&
        isOutOfNvencSessions(err.stderrTail)
      ) {
        log.warn('no free NVENC session; the plan goes back to the queue');
        throw new TransientError(
          `no free NVENC session for ${path}: the driver's cap on concurrent sessions is ` +
            `reached (other encodes or a media server's transcodes); retrying in ` +
            `${Math.round(env.retryDelayMs / 1000)} s`,
          { cause: err, delayMs: env.retryDelayMs },
        );
      }
      if (err instanceof FfmpegFailedError) {
        const verdict = classifyFailure(err.stderrTail, await tryProbeMedia(path));
        if (verdict.permanent) {
          log.warn({ reason: verdict.reason }, 'cannot encode this file');
          await hctx.emit({
            type: 'encode.failed',
            data: { library, path, encoder, reason: verdict.reason, permanent: true },
          });
          return 'done';
        }
      }
      if (err instanceof OutputCommitError) {
        const verdict = classifyFsError(err.cause);
        if (verdict.permanent) {
          await hctx.emit({
            type: 'encode.failed',
            data: { library, path, encoder, reason: verdict.reason, permanent: true },
          });
          return 'done';
        }
      }
      throw new TransientError(`encoding ${path} failed: ${(err as Error).message}`, {
        cause: err,
        delayMs: backoffDelayMs(hctx.attempt, env.retryDelayMs),
      });
    }
    const elapsedMs = Date.now() - started;
    log.info({ elapsedMs }, 'encoded');
    await emitCompleted(planned, action, encoder, { elapsedMs, fps: averageFps }, hctx, written);
    return 'done';
  } finally {
    await covers?.cleanup();
    unregister();
    release();
    env.heartbeat.beat();
  }
}

/** fsync then rename, then fsync the directory so the rename itself survives a crash. */
async function commitOutput(partialPath: string, outputPath: string): Promise<void> {
  try {
    const file = await open(partialPath, 'r');
    try {
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(partialPath, outputPath);
    const dir = await open(dirname(outputPath), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch (err) {
    throw new OutputCommitError(outputPath, { cause: err });
  }
}

async function emitCompleted(
  planned: EventEnvelope<'file.planned'>,
  action: { outputPath: string; target: EventEnvelope<'encode.completed'>['data']['target'] },
  encoder: string,
  measured: { elapsedMs: number; fps: number | null },
  hctx: HandlerContext,
  written: { pixFmt?: string; pixFmtReason?: string } = {},
): Promise<void> {
  const { library, path, source, policyVersion, limits } = planned.data;
  const outputSize = (await stat(action.outputPath)).size;
  await hctx.emit({
    type: 'encode.completed',
    data: {
      library,
      path,
      source,
      target: action.target,
      encoder,
      outputPath: action.outputPath,
      outputSize,
      elapsedMs: measured.elapsedMs,
      ...(measured.fps !== null ? { fps: measured.fps } : {}),
      policyVersion,
      ...(limits ? { limits } : {}),
      ...written,
    },
  });
}
