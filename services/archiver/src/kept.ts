import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  failedOnSizeOnly,
  SIZE_GUARD_CHECK,
  type DomainEventOf,
  type EventEnvelope,
  relativeInside,
  WORK_DIR_NAME,
} from '@conform/contracts';
import type { EventHandler } from '@conform/bus';

/**
 * The `file.kept` an encode stopped by the size guard leads to, or null for a real failure.
 * Pure: the encoder measured the ratio, this only names the outcome.
 */
export function keptAfterEncode(
  event: EventEnvelope<'encode.failed'>,
): DomainEventOf<'file.kept'> | null {
  const guard = event.data.sizeGuard;
  if (!guard) return null;
  const { library, path, policyVersion } = event.data;
  return {
    type: 'file.kept',
    data: {
      library,
      path,
      stage: 'encode',
      outputRatio: guard.measuredRatio,
      limitRatio: guard.limitRatio,
      reason: `the re-encode was on course for ${guard.measuredRatio} of the source's size (limit ${guard.limitRatio}) and was stopped: no saving, the original is kept`,
      ...(policyVersion !== undefined ? { policyVersion } : {}),
    },
  };
}

/**
 * The `file.kept` a verdict that failed on the size guard alone leads to, or null when any other
 * check failed (a real failure). Pure.
 */
export function keptAfterVerify(
  event: EventEnvelope<'verify.failed'>,
): DomainEventOf<'file.kept'> | null {
  if (!failedOnSizeOnly(event.data.checks)) return null;
  const guard = event.data.checks.find((c) => c.name === SIZE_GUARD_CHECK)!;
  const ratio = typeof guard.measured === 'number' ? guard.measured : 0;
  const limit = typeof guard.limit === 'number' ? guard.limit : 1;
  const { library, path, policyVersion } = event.data;
  return {
    type: 'file.kept',
    data: {
      library,
      path,
      stage: 'verify',
      outputRatio: ratio,
      limitRatio: limit,
      reason: `the verified re-encode came out at ${ratio} of the source's size, above the limit ${limit}: no saving, the original is kept`,
      ...(policyVersion !== undefined ? { policyVersion } : {}),
    },
  };
}

/** Handles `encode.failed`: publishes `file.kept` when the size guard stopped the encode. */
export function keptAfterEncodeHandler(): EventHandler {
  return async (event, h) => {
    if (event.type !== 'encode.failed') return;
    const kept = keptAfterEncode(event);
    if (!kept) return;
    h.log.info({ path: kept.data.path, ratio: kept.data.outputRatio }, 'original kept');
    await h.emit(kept);
  };
}

/**
 * Handles `verify.failed`: when only the size guard failed, deletes the unusable output (only
 * inside `<library>/.conform-work/`, invariant 6) and publishes `file.kept`.
 */
export function keptAfterVerifyHandler(): EventHandler {
  return async (event, h) => {
    if (event.type !== 'verify.failed') return;
    const kept = keptAfterVerify(event);
    if (!kept) return;
    const workDir = join(resolve(event.data.library), WORK_DIR_NAME);
    const output = resolve(event.data.outputPath);
    const inside = relativeInside(workDir, output);
    if (inside) await rm(output, { force: true });
    h.log.info({ path: kept.data.path, ratio: kept.data.outputRatio }, 'original kept');
    await h.emit(kept);
  };
}
