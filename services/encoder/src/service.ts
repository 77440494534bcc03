import { existsSync } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  consumerSpec,
  startSubscriptions,
  TransientError,
  type EventHandler,
  type HandlerContext,
  type RunningService,
  type ServiceContext,
} from '@conform/bus';
import { assertNever, type EventEnvelope } from '@conform/contracts';
import {
  detectHevcEncoder,
  FfmpegAbortedError,
  FfmpegFailedError,
  runFfmpeg,
  tryProbeMedia,
} from '@conform/media';
import { buildEncodeArgs, type HevcEncoder } from './args.js';
import { classifyFailure, decideEncode, type EncodeAction } from './decide.js';
import { OutputCommitError } from './errors.js';

/** Options of {@link startEncoder}. */
export interface EncoderOptions {
  /** Encodes at once in this process, also the consumer's max_ack_pending; defaults to 1. */
  slots?: number;
  /** `auto` (the default) picks by a trial encode; naming one forces it. */
  encoder?: 'auto' | HevcEncoder;
}

/**
 * Starts the encoder: for each `file.planned` with decision `encode`, writes an HEVC output
 * into the library's work directory and publishes `encode.started` then `encode.completed`,
 * or `encode.failed` when the source cannot be encoded.
 */
export async function startEncoder(
  ctx: ServiceContext,
  opts: EncoderOptions = {},
): Promise<RunningService> {
  const slots = Math.max(1, opts.slots ?? 1);
  let encoder: HevcEncoder;
  if (!opts.encoder || opts.encoder === 'auto') {
    const choice = await detectHevcEncoder();
    encoder = choice.encoder;
    ctx.log.info({ encoder, reason: choice.reason }, `encoding with ${encoder}`);
  } else {
    encoder = opts.encoder;
    ctx.log.info({ encoder, reason: 'forced by configuration' }, `encoding with ${encoder}`);
  }
  return startSubscriptions('encoder', ctx, [
    {
      consumer: consumerSpec('encoder', 'file.planned', {
        ackWaitMs: 60_000,
        maxDeliver: 3,
        maxAckPending: slots,
      }),
      slots,
      handle: encoderHandler(encoder),
    },
  ]);
}

/** The encoder's message handler: decide from the event and the work dir, then act. */
export function encoderHandler(encoder: HevcEncoder): EventHandler {
  return async (event, hctx) => {
    if (event.type !== 'file.planned') return;
    const action = decideEncode(event, existsSync);
    switch (action.kind) {
      case 'ignore':
        hctx.log.debug({ path: event.data.path, why: action.why }, 'nothing to encode');
        return;
      case 'already-encoded':
        // A redelivery after the output was committed: report it again, dedupe drops the copy.
        await emitCompleted(event, action, encoder, 0, hctx);
        return;
      case 'encode':
        await encode(event, action, encoder, hctx);
        return;
      default:
        assertNever(action, 'encode action');
    }
  };
}

async function encode(
  planned: EventEnvelope<'file.planned'>,
  action: Extract<EncodeAction, { kind: 'encode' }>,
  encoder: HevcEncoder,
  hctx: HandlerContext,
): Promise<void> {
  const { library, path, durationSec } = planned.data;
  const log = hctx.log.child({ path, outputPath: action.outputPath, encoder });
  await mkdir(dirname(action.outputPath), { recursive: true });
  await hctx.emit(
    {
      type: 'encode.started',
      data: { library, path, encoder, outputPath: action.outputPath, attempt: hctx.attempt },
    },
    { discriminator: `attempt-${hctx.attempt}` },
  ); // every attempt is its own fact
  const args = buildEncodeArgs({
    inputPath: path,
    outputPath: action.partialPath,
    encoder,
    container: action.target.container,
  });
  const started = Date.now();
  let lastLoggedDecile = -1;
  try {
    await runFfmpeg(args, {
      signal: hctx.signal,
      durationSec,
      onProgress: (p) => {
        const decile = p.percent === null ? -1 : Math.floor(p.percent / 10);
        if (decile > lastLoggedDecile) {
          lastLoggedDecile = decile;
          log.debug({ percent: p.percent, fps: p.fps, speed: p.speed }, 'encoding');
        }
      },
    });
    await commitOutput(action.partialPath, action.outputPath);
  } catch (err) {
    await rm(action.partialPath, { force: true });
    if (hctx.signal.aborted || err instanceof FfmpegAbortedError) {
      log.info('stopped mid-encode; removed the partial output');
      throw err;
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
    throw new TransientError(`encoding ${path} failed: ${(err as Error).message}`, { cause: err });
  }
  const elapsedMs = Date.now() - started;
  log.info({ elapsedMs }, 'encoded');
  await emitCompleted(planned, action, encoder, elapsedMs, hctx);
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
  encoder: HevcEncoder,
  elapsedMs: number,
  hctx: HandlerContext,
): Promise<void> {
  const { library, path, source } = planned.data;
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
      elapsedMs,
    },
  });
}
