import { existsSync } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import {
  consumerSpec,
  lastEventOf,
  provisionEventLog,
  startSubscriptions,
  TransientError,
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
  encodeSettingsFor,
  sizeGuardOutcome,
  sizeLimitFor,
  type EncodeAction,
} from './decide.js';
import { chooseEncoder, detectEncodersOnce, type EncoderAvailability } from './detect.js';
import { EncoderError, OutputCommitError } from './errors.js';
import { PauseController, type PauseOptions } from './pause-controller.js';
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
  /** Encoder availability, when already detected (tests, `conform doctor`). */
  availability?: readonly EncoderAvailability[];
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
  const pullSlots = devices.reduce((sum, d) => sum + limits[d], 0) || 1;
  const deviceSlots = new DeviceSlots(limits);
  // The pause state is read from the log before the first pull, so the log must exist.
  await provisionEventLog(ctx.bus.jsm, ctx.eventLog);
  const pause = await PauseController.start(ctx, { ...opts, node, log });
  const ackWaitMs = opts.ackWaitMs ?? 60_000;
  const maxDeliver = opts.maxDeliver ?? 3;
  const maxInFlight = Math.max(pullSlots, opts.maxInFlight ?? 16);
  const env: EncodeEnv = {
    ctx,
    node,
    profiles,
    deviceSlots,
    pause,
    maxDeliver,
    retryDelayMs: opts.retryDelayMs ?? 30_000,
  };
  log.info({ devices, limits, pullSlots, maxInFlight }, 'encoder slots');
  let service: RunningService;
  try {
    service = await startSubscriptions('encoder', ctx, [
      {
        consumer: consumerSpec('encoder', 'file.planned', {
          ackWaitMs,
          maxDeliver,
          maxAckPending: maxInFlight,
        }),
        slots: pullSlots,
        beforePull: (signal) => pause.whenRunning(signal),
        handle: plannedHandler(env),
      },
      {
        // Retries are rare: one slot; the encode itself still waits for its device slot.
        consumer: consumerSpec('encoder', 'control.requested', { ackWaitMs, maxDeliver }),
        slots: 1,
        beforePull: (signal) => pause.whenRunning(signal),
        handle: retryHandler(env),
      },
    ]);
  } catch (err) {
    await pause.stop();
    throw err;
  }
  return {
    name: 'encoder',
    stop: async () => {
      await service.stop();
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
  maxDeliver: number;
  retryDelayMs: number;
}

function plannedHandler(env: EncodeEnv): EventHandler {
  return async (event, hctx) => {
    if (event.type !== 'file.planned') return;
    await handlePlan(env, event, decideEncode(event, existsSync), hctx);
  };
}

/**
 * `conform retry PATH` publishes control.requested {retry} for the file; the encoder owns it:
 * it reads the file's last plan from the event log and encodes it again into a fresh output
 * named by the request's id, so neither a dead-lettered plan nor an old output is in the way.
 */
function retryHandler(env: EncodeEnv): EventHandler {
  return async (event, hctx) => {
    if (event.type !== 'control.requested' || event.data.action !== 'retry') return;
    const planned = await lastPlanned(env.ctx, event.fileId);
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

async function encode(
  env: EncodeEnv,
  planned: EventEnvelope<'file.planned'>,
  action: Extract<EncodeAction, { kind: 'encode' }>,
  hctx: HandlerContext,
): Promise<void> {
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
    return;
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
    return;
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
    return;
  }

  const release = await env.deviceSlots.acquire(remux ? 'cpu' : profile.backend, hctx.signal);
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
    await mkdir(dirname(action.outputPath), { recursive: true });
    // A killed earlier attempt may have left a partial (or an orphaned ffmpeg writing one):
    // unlink it so this run writes a fresh file.
    await rm(action.partialPath, { force: true });
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
      { discriminator: `attempt-${hctx.attempt}` },
    ); // every attempt is its own fact
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
        return;
      }
      if (local.signal.aborted || err instanceof FfmpegAbortedError) {
        log.info('paused with --now; returned the plan to the queue');
        throw new TransientError(`encoding ${path} was stopped by pause --now`, {
          cause: err,
          delayMs: 1_000,
        });
      }
      if (err instanceof FfmpegFailedError) {
        const verdict = classifyFailure(err.stderrTail, await tryProbeMedia(path));
        if (verdict.permanent) {
          log.warn({ reason: verdict.reason }, 'cannot encode this file');
          await hctx.emit({
            type: 'encode.failed',
            data: { library, path, encoder, reason: verdict.reason, permanent: true },
          });
          return;
        }
      }
      throw new TransientError(`encoding ${path} failed: ${(err as Error).message}`, {
        cause: err,
        delayMs: env.retryDelayMs,
      });
    }
    const elapsedMs = Date.now() - started;
    log.info({ elapsedMs }, 'encoded');
    await emitCompleted(planned, action, encoder, { elapsedMs, fps: averageFps }, hctx, written);
  } finally {
    await covers?.cleanup();
    unregister();
    release();
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
