// Wiring of the archiver: consumers for verified outputs, kept/failed outcomes and control
// requests, each handed to the swap (observe → plan → apply) or the sweep of expired originals.
import {
  assertNever,
  type DomainEventOf,
  type EventEnvelope,
  type FileReplacedData,
  type VerificationData,
  relativeInside,
} from '@conform/contracts';
import {
  TransientError,
  backoffDelayMs,
  classifyFsError,
  consumerSpec,
  startSubscriptions,
  type RunningService,
  type ServiceContext,
} from '@conform/bus';
import { applySwap, factsOf, observeSwap, realFs, type SwapFs } from './apply.js';
import { lastEventOf, lastEventsOfType } from '@conform/bus';
import { keptAfterEncodeHandler, keptAfterVerifyHandler } from './kept.js';
import { restoreOriginal } from './restore.js';
import { deleteExpiredOriginal, expiredOriginals } from './retention.js';
import { cleanLeftovers } from './clean.js';
import { SwapConflictError } from './errors.js';
import { resolveSwapPaths, type ArchiverLibrary, type SwapPaths } from './paths.js';
import { resolve } from 'node:path';
import { planSwap, type SwapOutcome } from './decide.js';

/** Options of {@link startArchiver}. */
export interface ArchiverOptions {
  libraries: ArchiverLibrary[];
  /**
   * How often libraries with `{deleteAfterDays}` are swept for expired originals, and libraries
   * with `workRetentionHours` for leftovers (see {@link cleanLeftovers}); default 1 h.
   */
  retentionSweepMs?: number;
  /** The clock, for the retention sweep. */
  now?: () => Date;
}

/** What a swap ends with: the event the archiver publishes. */
export type SwapResult = DomainEventOf<'file.replaced'> | DomainEventOf<'replace.failed'>;

/**
 * Consumes `verify.passed` and swaps each verified output in for its original, archiving the
 * original first (`file.replaced` or `replace.failed`); turns an `encode.failed` stopped by the
 * size guard, or a `verify.failed` on the size guard alone, into `file.kept`; consumes `control.requested` and acts on
 * `restore` (`file.restored` or `restore.failed`); sweeps expired originals of libraries that
 * opted into deletion (`original.deleted`).
 */
export async function startArchiver(
  ctx: ServiceContext,
  opts: ArchiverOptions,
): Promise<RunningService> {
  const libraries = [...opts.libraries];
  const service = await startSubscriptions('archiver', ctx, [
    {
      consumer: consumerSpec('archiver', 'verify.passed'),
      handle: async (event, h) => {
        if (event.type !== 'verify.passed') return;
        const result = await swapVerifiedOutput(event, libraries, realFs, h.attempt);
        if (result.type === 'file.replaced') {
          h.log.info(result.data, 'replaced');
        } else {
          h.log.warn({ path: event.data.path, reason: result.data.reason }, 'replace failed');
        }
        await h.emit(result);
      },
    },
    // A re-encode that would not save enough ends with the original kept, said as such.
    { consumer: consumerSpec('archiver', 'encode.failed'), handle: keptAfterEncodeHandler() },
    { consumer: consumerSpec('archiver', 'verify.failed'), handle: keptAfterVerifyHandler() },
    {
      consumer: consumerSpec('archiver', 'control.requested'),
      handle: async (event, h) => {
        if (event.type !== 'control.requested' || event.data.action !== 'restore') return;
        const replaced = await lastEventOf(ctx.bus, 'file.replaced', event.fileId);
        if (!replaced) {
          h.log.warn({ fileId: event.fileId, path: event.data.path }, 'restore: nothing replaced');
          const path = event.data.path;
          const library = path
            ? libraries.find((l) => relativeInside(resolve(l.root), resolve(path)) !== null)
            : undefined;
          if (path && library) {
            await h.emit({
              type: 'restore.failed',
              data: {
                library: resolve(library.root),
                path: resolve(path),
                reason: `no replacement of ${path} is recorded; nothing to restore`,
              },
            });
          }
          return;
        }
        const result = await restoreOrRetry(replaced.event.data, event.fileId, libraries);
        if (result.type === 'file.restored') h.log.info(result.data, 'restored');
        else h.log.warn(result.data, 'restore failed');
        await h.emit(result);
      },
    },
  ]);
  const sweepsOriginals = libraries.some((l) => typeof l.originals === 'object');
  // Leftovers are swept where a library states its workRetentionHours (quality.yaml always does).
  const sweepsLeftovers = libraries.some((l) => l.workRetentionHours !== undefined);
  if (!sweepsOriginals && !sweepsLeftovers) return service;
  const now = opts.now ?? (() => new Date());
  const log = ctx.log.child({ service: 'archiver' });
  let sweep: Promise<void> = Promise.resolve();
  const runSweep = () => {
    sweep = sweep
      .then(async () => {
        if (sweepsOriginals) await sweepExpiredOriginals(ctx, libraries, now());
        if (sweepsLeftovers) {
          const cleaned = await cleanLeftovers(ctx.bus, libraries, { dryRun: false, now: now() });
          for (const r of cleaned.filter((c) => c.done)) {
            log.info({ path: r.action.path, why: r.action.why }, 'removed a leftover');
          }
        }
      })
      .catch((err: unknown) => log.error({ err }, 'retention sweep failed; will try again'));
  };
  runSweep();
  const timer = setInterval(runSweep, opts.retentionSweepMs ?? 3_600_000);
  timer.unref();
  return {
    name: service.name,
    stop: async () => {
      clearInterval(timer);
      await sweep;
      await service.stop();
    },
  };
}

/** Deletes every archived original whose retention ran out, recording each. */
export async function sweepExpiredOriginals(
  ctx: ServiceContext,
  libraries: readonly ArchiverLibrary[],
  now: Date,
): Promise<number> {
  const [replaced, restored] = await Promise.all([
    lastEventsOfType(ctx.bus, 'file.replaced'),
    lastEventsOfType(ctx.bus, 'file.restored'),
  ]);
  const restoredSeq = new Map([...restored].map(([id, l]) => [id, l.seq]));
  let deleted = 0;
  for (const expired of expiredOriginals(
    [...replaced.values()],
    restoredSeq,
    libraries,
    now.getTime(),
  )) {
    const event = await deleteExpiredOriginal(expired);
    if (!event) continue;
    await ctx.publisher.emit(event, {
      fileId: expired.replaced.fileId,
      causation: expired.replaced,
    });
    deleted++;
  }
  return deleted;
}

async function restoreOrRetry(
  replaced: FileReplacedData,
  fileId: string,
  libraries: readonly ArchiverLibrary[],
) {
  try {
    return await restoreOriginal(replaced, fileId, libraries);
  } catch (err) {
    throw new TransientError(`restore of ${replaced.path} failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
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
  attempt = 1,
): Promise<SwapResult> {
  const { data } = event;
  const resolved = resolveSwapPaths(data, libraries);
  if (!resolved.ok) return failed(data, resolved.reason, false);
  let slot: string | null = null;
  try {
    // The observation fixes which archive version this swap fills; every step uses it.
    const observed = await observeSwap(resolved.paths, data.source, fs);
    const { paths } = observed;
    slot = paths.archivePath;
    const plan = planSwap(observed);
    const keepMtime = libraries.find((l) => resolve(l.root) === paths.library)?.keepMtime;
    await applySwap(plan, paths, data.source, fs, { keepMtime: keepMtime === true });
    return resultEvent(data, paths, plan.outcome);
  } catch (err) {
    if (err instanceof SwapConflictError) return failed(data, err.message, false);
    const verdict = classifyFsError(err);
    if (verdict.permanent) {
      // No retry can fix it: say why once, and name the archive copy the swap left behind.
      const archived = slot && (await factsOf(fs, slot).catch(() => null))?.kind === 'file';
      return {
        type: 'replace.failed',
        data: {
          library: data.library,
          path: data.path,
          reason: `swap of ${data.path} failed, the original is untouched: ${verdict.reason}`,
          stale: false,
          permanent: true,
          ...(archived ? { archivePath: slot! } : {}),
        },
      };
    }
    throw new TransientError(`swap of ${data.path} failed: ${describeFsError(err)}`, {
      cause: err,
      delayMs: backoffDelayMs(attempt, 5_000),
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
          ...(data.policyVersion !== undefined ? { policyVersion: data.policyVersion } : {}),
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

const NOT_WRITABLE = new Set(['EROFS', 'EACCES', 'EPERM']);

/** The error's message, with what to do about the ones an operator must fix. */
export function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { dest?: string };
  if (e.code && NOT_WRITABLE.has(e.code) && e.path) {
    return `${e.dest ?? e.path} is not writable (${e.code}); fix its permissions or mount, the original is untouched: ${e.message}`;
  }
  if (e.code === 'ENOSPC') {
    return `no space left on the device of ${e.dest ?? e.path ?? 'a swap path'} (ENOSPC); the original is untouched`;
  }
  return e.message;
}
