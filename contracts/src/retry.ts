import type { EventEnvelope } from './envelope.js';
import type { FileKeptData } from './events.js';

/** Why a retry is refused; the CLI turns it into an error, the API into a 409. */
export interface RetryRefusal {
  code: 'KEPT' | 'DAMAGED' | 'NOT_ENCODE';
  message: string;
}

const percent = (ratio: number) => `${Math.round(ratio * 1000) / 10} %`;

/**
 * Whether an operator's retry of a file makes sense, from its last plan and the `file.kept`
 * recorded after that plan (null if none). A kept file is an outcome, not a failure: the same
 * policy keeps it again, so a retry is refused unless forced, and the message says what does
 * re-plan it. A damaged source has no encode plan at all: nothing to retry, even forced. Pure.
 */
export function retryRefusal(
  planned: EventEnvelope<'file.planned'>,
  keptAfterPlan: FileKeptData | null,
  force: boolean,
): RetryRefusal | null {
  const { path, decision, reasons, health } = planned.data;
  if (decision === 'damaged') {
    const seen = health
      ? ` (${health.mode} health check of ${health.checked}: ${health.errorCount} decode error(s)` +
        `${health.errors[0] ? `, first: ${health.errors[0]}` : ''}${health.endsEarly ? `; ${health.endsEarly}` : ''})`
      : '';
    return {
      code: 'DAMAGED',
      message:
        `${path} is damaged${seen}: conform does not encode a damaged source, so there is nothing ` +
        `to retry (--force cannot change that). Replace the file (a changed file is checked and ` +
        `planned again), or set health.check: off (or raise health.maxErrors) in the policy to ` +
        `have it planned without the check.`,
    };
  }
  if (decision !== 'encode' && decision !== 'remux') {
    return {
      code: 'NOT_ENCODE',
      message: `${path} was last planned as ${decision} (${reasons.join('; ')}): nothing to encode`,
    };
  }
  if (keptAfterPlan && !force) {
    return {
      code: 'KEPT',
      message:
        `${path} was kept: ${keptAfterPlan.reason} (the output came to ` +
        `${percent(keptAfterPlan.outputRatio)} of the source; the policy accepts at most ` +
        `${percent(keptAfterPlan.limitRatio)}). Keeping the original is the outcome, not a ` +
        `failure, and a retry under the same policy keeps it again. A policy change ` +
        `(guardrails.minSavingPercent, guardrails.maxOutputRatio, the target's quality) plans it ` +
        `again by itself; to encode it again anyway, retry with --force.`,
    };
  }
  return null;
}
