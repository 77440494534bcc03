import {
  assertNever,
  type DomainEventOf,
  type EventEnvelope,
  type VerificationData,
} from '@conform/contracts';
import {
  TransientError,
  consumerSpec,
  startSubscriptions,
  type RunningService,
  type ServiceContext,
} from '@conform/bus';
import { applySwap, observeSwap, realFs, type SwapFs } from './apply.js';
import { SwapConflictError } from './errors.js';
import { resolveSwapPaths, type ArchiverLibrary, type SwapPaths } from './paths.js';
import { planSwap, type SwapOutcome } from './plan.js';

/** Options of {@link startArchiver}. */
export interface ArchiverOptions {
  libraries: ArchiverLibrary[];
}

/** What a swap ends with: the event the archiver publishes. */
export type SwapResult = DomainEventOf<'file.replaced'> | DomainEventOf<'replace.failed'>;

/**
 * Consumes `verify.passed` and swaps each verified output in for its original, archiving the
 * original first. Publishes `file.replaced` or `replace.failed`.
 */
export async function startArchiver(
  ctx: ServiceContext,
  opts: ArchiverOptions,
): Promise<RunningService> {
  const libraries = [...opts.libraries];
  return startSubscriptions('archiver', ctx, [
    {
      consumer: consumerSpec('archiver', 'verify.passed'),
      handle: async (event, h) => {
        if (event.type !== 'verify.passed') return;
        const result = await swapVerifiedOutput(event, libraries);
        if (result.type === 'file.replaced') {
          h.log.info(result.data, 'replaced');
        } else {
          h.log.warn({ path: event.data.path, reason: result.data.reason }, 'replace failed');
        }
        await h.emit(result);
      },
    },
  ]);
}

/**
 * Observe, plan, apply: the whole swap for one `verify.passed`. Safe to run again for the same
 * event at any point. Refusals and stale sources come back as `replace.failed`; a filesystem
 * error that may pass (a full disk, a file moving under us) throws a `TransientError` so the
 * message is retried.
 */
export async function swapVerifiedOutput(
  event: EventEnvelope<'verify.passed'>,
  libraries: readonly ArchiverLibrary[],
  fs: SwapFs = realFs,
): Promise<SwapResult> {
  const { data } = event;
  const resolved = resolveSwapPaths(data, libraries);
  if (!resolved.ok) return failed(data, resolved.reason, false);
  const { paths } = resolved;
  try {
    const plan = planSwap(await observeSwap(paths, data.source, fs));
    await applySwap(plan, paths, data.source, fs);
    return resultEvent(data, paths, plan.outcome);
  } catch (err) {
    if (err instanceof SwapConflictError) return failed(data, err.message, false);
    throw new TransientError(`swap of ${data.path} failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function resultEvent(data: VerificationData, paths: SwapPaths, outcome: SwapOutcome): SwapResult {
  switch (outcome.kind) {
    case 'replaced':
      return {
        type: 'file.replaced',
        data: {
          library: data.library,
          path: data.path,
          newPath: paths.finalPath,
          archivePath: paths.archivePath,
          originalSize: data.source.size,
          newSize: outcome.newSize,
          bytesSaved: data.source.size - outcome.newSize,
        },
      };
    case 'failed':
      return failed(data, outcome.reason, outcome.stale);
    default:
      return assertNever(outcome, 'swap outcome');
  }
}

function failed(data: VerificationData, reason: string, stale: boolean): SwapResult {
  return {
    type: 'replace.failed',
    data: { library: data.library, path: data.path, reason, stale },
  };
}
