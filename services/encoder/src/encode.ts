import { rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  durableRename,
  TransientError,
  type HandlerContext,
  type ServiceContext,
} from '@conform/bus';
import { assertNever, progressSubjectFor, type EventEnvelope } from '@conform/contracts';
import { MediaUnreadableError, probeVideoColour, runFfmpeg, tryProbeMedia } from '@conform/media';
import { buildEncodeArgs } from './args.js';
import { extractCoverArt } from './attachments.js';
import { diskNeedFor, encodeSettingsFor, sizeLimitFor, type EncodeAction } from './decide.js';
import { EncoderError, OutputCommitError } from './errors.js';
import type { Heartbeat } from './heartbeat.js';
import { chooseDecode } from './hwdecode.js';
import {
  completedEvent,
  decideEncodeFailure,
  noProfileFailure,
  permanentFailure,
  workDirFailure,
  type EncodeFailureFacts,
  type EncodeMeasured,
} from './outcome.js';
import type { PauseController } from './pause-controller.js';
import { CPU_ENCODER, ENCODE_PROFILES, type EncodeProfile, type VideoCodec } from './profiles.js';
import { ProgressThrottle, progressMessage, sizeGuard } from './progress.js';
import { makeWorkDir, waitForRoom } from './room.js';
import type { DeviceSlots } from './slots.js';

/** What every encode of this node shares. */
export interface EncodeEnv {
  ctx: ServiceContext;
  node: string;
  profiles: Map<VideoCodec, EncodeProfile>;
  deviceSlots: DeviceSlots;
  pause: PauseController;
  heartbeat: Heartbeat;
  maxDeliver: number;
  retryDelayMs: number;
}

/** Carries out what {@link decideEncode} said about one plan. */
export async function handlePlan(
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
  const { path, durationSec } = planned.data;
  // A remux copies the video: it needs no working encoder, only the codec's manifest.
  const remux = action.target.videoCopy === true;
  const profile =
    env.profiles.get(action.target.videoCodec) ??
    (remux ? ENCODE_PROFILES[CPU_ENCODER[action.target.videoCodec]] : undefined);
  if (!profile) {
    await hctx.emit(noProfileFailure(planned, action.target.videoCodec, env.node));
    return 'done';
  }
  const encoder = remux ? 'copy' : profile.encoder;
  const log = hctx.log.child({ path, outputPath: action.outputPath, encoder });
  let colour;
  try {
    colour = await probeVideoColour(path);
  } catch (err) {
    if (!(err instanceof MediaUnreadableError)) throw err;
    await hctx.emit(permanentFailure(planned, encoder, `source is unreadable: ${err.reason}`));
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
    await hctx.emit(permanentFailure(planned, encoder, err.message));
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
      const failed = workDirFailure(planned, encoder, err);
      if (!failed) throw err;
      await hctx.emit(failed);
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
        data: {
          library: planned.data.library,
          path,
          encoder,
          outputPath: action.outputPath,
          attempt: hctx.attempt,
        },
      },
      {
        discriminator: run === 1 ? `attempt-${hctx.attempt}` : `attempt-${hctx.attempt}-run-${run}`,
      },
    ); // every attempt (and every run after waiting for room) is its own fact
    const limitBytes = sizeLimitFor(planned);
    const throttle = new ProgressThrottle(1_000);
    let guard: EncodeFailureFacts['sizeGuard'] = null;
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
          if (verdict.stop && !guard) {
            guard = { reason: verdict.reason, projectedBytes: verdict.projectedBytes };
            local.abort(new Error(verdict.reason));
          }
          if (!throttle.admit(Date.now(), p.percent)) return;
          const message = progressMessage(
            planned,
            { node: env.node, encoder, attempt: hctx.attempt },
            p,
            new Date(),
          );
          env.ctx.bus.nc.publish(progressSubjectFor(planned.fileId), JSON.stringify(message));
        },
      });
      await commitOutput(action.partialPath, action.outputPath);
    } catch (err) {
      await rm(action.partialPath, { force: true });
      const facts: EncodeFailureFacts = {
        error: err,
        workerStopped: hctx.signal.aborted,
        pausedNow: local.signal.aborted,
        sizeGuard: guard,
        backend: profile.backend,
        encoder,
        attempt: hctx.attempt,
        run,
        retryDelayMs: env.retryDelayMs,
      };
      let outcome = decideEncodeFailure(planned, facts);
      if (outcome.kind === 'probe-source') {
        outcome = decideEncodeFailure(planned, {
          ...facts,
          sourceProbe: await tryProbeMedia(path),
        });
      }
      switch (outcome.kind) {
        case 'stopped':
          log.info('stopped mid-encode; removed the partial output');
          throw err;
        case 'failed':
          if (outcome.warn) log.warn({ reason: outcome.event.data.reason }, outcome.warn);
          await hctx.emit(outcome.event);
          return 'done';
        case 'out-of-space':
          log.warn('the work folder ran out of space mid-encode; removed the partial output');
          return 'out-of-space';
        case 'requeued':
          log.info('paused with --now; returned the plan to the queue');
          await hctx.emit(outcome.event, { discriminator: outcome.discriminator });
          throw new TransientError(outcome.message, { cause: err, delayMs: outcome.delayMs });
        case 'retry':
          if (outcome.warn) log.warn(outcome.warn);
          throw new TransientError(outcome.message, { cause: err, delayMs: outcome.delayMs });
        case 'probe-source':
          // Answered above: decideEncodeFailure had the probe the second time.
          throw err;
        default:
          return assertNever(outcome, 'encode outcome');
      }
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

/** Commits a complete output under its real name, durably (see {@link durableRename}). */
async function commitOutput(partialPath: string, outputPath: string): Promise<void> {
  try {
    await durableRename(partialPath, outputPath);
  } catch (err) {
    throw new OutputCommitError(outputPath, { cause: err });
  }
}

async function emitCompleted(
  planned: EventEnvelope<'file.planned'>,
  action: Pick<Extract<EncodeAction, { kind: 'encode' }>, 'outputPath' | 'target'>,
  encoder: string,
  measured: EncodeMeasured,
  hctx: HandlerContext,
  written: { pixFmt?: string; pixFmtReason?: string } = {},
): Promise<void> {
  const outputSize = (await stat(action.outputPath)).size;
  await hctx.emit(completedEvent(planned, action, encoder, measured, outputSize, written));
}
