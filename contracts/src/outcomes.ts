import type { VerificationCheck } from './events.js';

/** The verifier's check that holds an output to the policy's size limit. */
export const SIZE_GUARD_CHECK = 'size-guard';

/**
 * True when a verdict failed on the size guard alone: the output is sound but not worth it,
 * so the original is kept (not a failure). Any other failed check makes it a real failure.
 */
export function failedOnSizeOnly(checks: readonly VerificationCheck[]): boolean {
  const failed = checks.filter((c) => !c.passed);
  return failed.length > 0 && failed.every((c) => c.name === SIZE_GUARD_CHECK);
}
