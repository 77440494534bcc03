import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { HandlerContext, ServiceContext } from '@conform/bus';
import { assertNever, progressSubjectFor, type EventEnvelope } from '@conform/contracts';
import { runFfmpeg } from '@conform/media';
import { buildEncodeArgs } from './args.js';
import { extractCoverArt } from './attachments.js';
import { diskNeedFor, sizeLimitFor, type EncodeAction } from './decide.js';
import { commitOutput, emitCompleted } from './commit.js';
import type { Heartbeat } from './heartbeat.js';
import type { PlanInHand } from './lookahead.js';
import { handleFailure } from './failure.js';
import { workDirFailure, type EncodeFailureFacts } from './outcome.js';
import type { PauseController } from './pause-controller.js';
import { prepareEncode } from './prepare.js';
import type { EncodeProfile, VideoCodec } from './profiles.js';
import { etaSeconds, Phases, ProgressThrottle, progressMessage, sizeGuard } from './progress.js';
import { makeWorkDir, waitForRoom } from './room.js';
import { takeSlot, type DeviceSlots } from './slots.js';

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
  /** CPU niceness of ffmpeg (see DEFAULT_ENCODE_NICENESS). */
  niceness: number;
  /** Whether ffmpeg also runs under SCHED_IDLE (at {@link LOWEST_NICENESS}, where it works). */
  idle: boolean;
}

/** Carries out what {@link decideEncode} said about one plan. */
export async function handlePlan(
  env: EncodeEnv,
  planned: EventEnvelope<'file.planned'>,
  action: EncodeAction,
  hctx: HandlerContext,
  hand?: PlanInHand,
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
      await encode(env, planned, action, hctx, hand);
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
  hand?: PlanInHand,
): Promise<void> {
  let need = diskNeedFor(planned);
  for (let run = 1; ; run++) {
    await waitForRoom(env.pause, planned, need, hctx, run);
    if ((await encodeOnce(env, planned, action, hctx, run, hand)) === 'done') return;
    need = { bytes: need.bytes * 2, why: `twice ${need.why}: the last run ran out of space` };
  }
}

async function encodeOnce(
  env: EncodeEnv,
  planned: EventEnvelope<'file.planned'>,
  action: Extract<EncodeAction, { kind: 'encode' }>,
  hctx: HandlerContext,
  run: number,
  hand?: PlanInHand,
): Promise<'done' | 'out-of-space'> {
  const { path, durationSec } = planned.data;
  const phases = new Phases();
  const prepared = await prepareEncode(env.ctx, env.profiles, env.node, planned, action, hctx);
  if (prepared.kind === 'failed') {
    await hctx.emit(prepared.event);
    return 'done';
  }
  const { profile, encoder, settings, written } = prepared;
  let args = prepared.args;
  phases.mark(prepared.colourFrom === 'plan' ? 'prepare' : 'prepareWithProbe');
  const log = hctx.log.child({ path, outputPath: action.outputPath, encoder });

  try {
    // Before the slot: a plan pulled ahead has its work folder ready when the slot frees.
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
  const device = prepared.remux ? 'cpu' : profile.backend;
  const release = await takeSlot(env.deviceSlots, env.pause, device, hctx.signal);
  phases.mark('slotWait');
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
    // Published while ffmpeg starts, and confirmed before anything that follows it in the log.
    const startedPublished = hctx.emit(
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
    startedPublished.catch(() => undefined); // awaited below; no unhandled rejection meanwhile
    phases.mark('start');
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
        niceness: env.niceness,
        idle: env.idle,
        onProgress: (p) => {
          if (p.fps !== null && Number.isFinite(p.fps) && p.fps > 0) averageFps = p.fps;
          hand?.progress(etaSeconds(p, durationSec));
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
      phases.mark('ffmpeg');
      // The device is free once ffmpeg exits: the next encode starts while this one is
      // committed (fsync, rename, fsync dir) and reported, which need the disk and the bus only.
      release();
      // The successor waiting for the slot starts first (its way to the spawn is microtasks);
      // waking the pull loops for more work and the beat can wait for the next turn.
      setImmediate(() => {
        hand?.leave();
        env.heartbeat.beat();
      });
      await startedPublished;
      await commitOutput(action.partialPath, action.outputPath);
      phases.mark('commit');
    } catch (err) {
      await rm(action.partialPath, { force: true });
      await startedPublished.catch(() => undefined); // keeps started before the failure
      return await handleFailure(planned, hctx, log, err, {
        error: err,
        workerStopped: hctx.signal.aborted,
        pausedNow: local.signal.aborted,
        sizeGuard: guard,
        backend: profile.backend,
        encoder,
        attempt: hctx.attempt,
        run,
        retryDelayMs: env.retryDelayMs,
      });
    }
    const elapsedMs = Date.now() - started;
    await emitCompleted(planned, action, encoder, { elapsedMs, fps: averageFps }, hctx, written);
    phases.mark('publish');
    // Where the time went, so overhead beside ffmpeg can be told apart (see bench/).
    log.info(
      { elapsedMs, phases: phases.ms, ffmpegAt: [phases.at.start, phases.at.ffmpeg] },
      'encoded',
    );
    return 'done';
  } finally {
    await covers?.cleanup();
    unregister();
    release();
    env.heartbeat.beat();
  }
}
