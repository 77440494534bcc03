// The planner's pure decisions: is a probe still fresh, what a discovery plans, when an earlier
// outcome (kept, restored, damaged) holds a file back, and what a known file would be planned
// as now (re-plan, dry run). Everything here is data in, events out; the I/O is in service.ts,
// disk.ts and replan.ts. It is long because the hold-back rules and the plan share one history.
import type {
  DomainEvent,
  DomainEventOf,
  EventEnvelope,
  FileDiscoveredData,
  FilePlannedData,
  HealthReport,
  MediaSummary,
  SourceStamp,
} from '@conform/contracts';
import type { ProbeOutcome } from '@conform/media';
import { planFile, policyVersion, type Policy } from './policy.js';

/** Whether the file on disk is still the one the discovery describes. */
export type FreshnessVerdict = { fresh: true } | { fresh: false; why: string };

/**
 * Compares the discovery with a fresh stat (null when the file is gone). A mismatch means a
 * newer discovery is on its way, so planning this one would be wasted work.
 */
export function checkFreshness(
  discovered: FileDiscoveredData,
  current: SourceStamp | null,
): FreshnessVerdict {
  if (!current) return { fresh: false, why: 'file no longer exists' };
  if (current.size !== discovered.size) {
    return { fresh: false, why: `size changed from ${discovered.size} to ${current.size}` };
  }
  // Sub-millisecond digits may be lost between the watcher's stat and ours; a real edit moves mtime further.
  if (Math.abs(current.mtimeMs - discovered.mtimeMs) >= 1) {
    return { fresh: false, why: `mtime changed from ${discovered.mtimeMs} to ${current.mtimeMs}` };
  }
  return { fresh: true };
}

/** The events a probed (or unreadable) discovery leads to: probed + planned, or unreadable. Pure. */
export function planDiscovery(
  discovered: FileDiscoveredData,
  probe: ProbeOutcome,
  policy: Policy,
  freeBytes: number | null = null,
  history: PlanningHistory = NO_HISTORY,
): DomainEvent[] {
  const { library, path } = discovered;
  const source: SourceStamp = { size: discovered.size, mtimeMs: discovered.mtimeMs };
  if (!probe.ok) {
    return [{ type: 'file.unreadable', data: { library, path, source, reason: probe.reason } }];
  }
  const planned = plannedData(library, path, source, probe.media, policy, freeBytes);
  const held = heldBack(history, planned.policyVersion);
  return [
    { type: 'file.probed', data: { library, path, source, media: probe.media } },
    {
      type: 'file.planned',
      data: held
        ? {
            ...planned,
            decision: 'skip',
            reasons: [held.why],
            target: null,
            estimatedOutputBytes: null,
            heldBy: held.by,
          }
        : planned,
    },
  ];
}

/** Every reason of a held plan starts with this. */
export const HELD_REASON_PREFIX = 'held: ';

/** A file too fresh to plan (`holdNewFilesMinutes`): why, and when the hold ends. */
export interface Hold {
  reason: string;
  untilMs: number;
}

/**
 * Whether a file modified at `source.mtimeMs` is still held at `nowMs`: an *arr app may still
 * rename, upgrade or replace what it has just imported. Pure.
 */
export function holdOf(source: SourceStamp, policy: Policy, nowMs: number): Hold | null {
  const minutes = policy.holdNewFilesMinutes;
  if (!minutes) return null;
  const untilMs = source.mtimeMs + minutes * 60_000;
  if (nowMs >= untilMs) return null;
  const ago = Math.max(0, Math.floor((nowMs - source.mtimeMs) / 60_000));
  return { reason: `${HELD_REASON_PREFIX}imported ${ago} min ago`, untilMs };
}

/** The plan that records a hold: a skip with the hold as its reason, nothing probed yet. Pure. */
export function heldPlan(
  discovered: FileDiscoveredData,
  policy: Policy,
  hold: Hold,
): DomainEventOf<'file.planned'> {
  const { library, path } = discovered;
  return {
    type: 'file.planned',
    data: {
      library,
      path,
      source: { size: discovered.size, mtimeMs: discovered.mtimeMs },
      decision: 'skip',
      reasons: [hold.reason],
      policyVersion: policyVersion(policy),
      target: null,
      durationSec: null,
      estimatedOutputBytes: null,
    },
  };
}

/** Whether a plan is a hold that must be re-checked when it ends. */
export function isHeldPlan(planned: FilePlannedData): boolean {
  return (
    planned.decision === 'skip' && (planned.reasons[0]?.startsWith(HELD_REASON_PREFIX) ?? false)
  );
}

/** What earlier outcomes of a file say about encoding it again: the policy versions they had. */
export interface PlanningHistory {
  /**
   * Policy version of the latest outcome that kept the original for lack of saving (file.kept,
   * or a verify.failed on its size guard from before file.kept existed), if any.
   */
  sizeGuardFailedUnder: string | null;
  /** Policy version of the latest file.restored (the operator put the original back), if any. */
  restoredUnder: string | null;
}

export const NO_HISTORY: PlanningHistory = { sizeGuardFailedUnder: null, restoredUnder: null };

/**
 * Why a file is left alone under policy `version`, or null. An output that came out no smaller
 * (size guard), or an original the operator restored, would only be encoded again to the same
 * end; both hold until the policy changes.
 */
export function heldBack(
  history: PlanningHistory,
  version: string,
): { why: string; by: 'kept' | 'restored' } | null {
  if (history.sizeGuardFailedUnder === version) {
    return {
      by: 'kept',
      why: `an encode under policy ${version} saved too little and the original was kept; not planned again until the file or the policy changes`,
    };
  }
  if (history.restoredUnder === version) {
    return {
      by: 'restored',
      why: `the original was restored under policy ${version}; not planned again until the policy changes`,
    };
  }
  return null;
}

/** What the event log says about one file: its latest probe and the plan that followed, if any. */
export interface ProbedFile {
  fileId: string;
  probed: EventEnvelope<'file.probed'>;
  /** The latest plan; null when the planner stopped between probing and planning. */
  planned: EventEnvelope<'file.planned'> | null;
  /**
   * True when the latest plan was carried out (a `file.replaced` after it): the file on disk is
   * new and its own discovery decides it again.
   */
  settled: boolean;
  /** What earlier outcomes say (file.kept, file.restored); absent: nothing recorded. */
  history?: PlanningHistory;
}

/**
 * What the planner would publish for a known file now, for `conform plan --dry-run`: the plan
 * under the current policy, held back as the planner holds it (a kept or restored outcome under
 * this policy), and a source found damaged under this policy still damaged (nothing about the
 * file changed, so its health check would say the same). Pure.
 */
export function decisionNow(
  known: ProbedFile,
  policy: Policy,
  freeBytes: number | null = null,
): FilePlannedData {
  const { library, path, source, media } = known.probed.data;
  const next = plannedData(library, path, source, media, policy, freeBytes);
  const last = known.planned?.data;
  if (last?.decision === 'damaged' && last.policyVersion === next.policyVersion) return last;
  const held = heldBack(known.history ?? NO_HISTORY, next.policyVersion);
  if (!held || (next.decision !== 'encode' && next.decision !== 'remux')) return next;
  const rest: FilePlannedData = { ...next };
  delete rest.limits;
  return {
    ...rest,
    decision: 'skip',
    reasons: [held.why],
    target: null,
    estimatedOutputBytes: null,
    heldBy: held.by,
  };
}

/**
 * Re-decides a known file under the current policy. Returns the new `file.planned` only when
 * the decision or target changes (recording the version it replaces), else null. Pure.
 */
export function replanKnownFile(
  known: ProbedFile,
  policy: Policy,
  freeBytes: number | null = null,
): DomainEvent | null {
  if (known.settled) return null;
  const { library, path, source, media } = known.probed.data;
  const next = plannedData(library, path, source, media, policy, freeBytes);
  const last = known.planned?.data;
  if (!last) return { type: 'file.planned', data: next };
  if (last.policyVersion === next.policyVersion) return null;
  if (last.decision === next.decision && sameJson(last.target, next.target)) return null;
  return {
    type: 'file.planned',
    data: { ...next, previousPolicyVersion: last.policyVersion },
  };
}

function plannedData(
  library: string,
  path: string,
  source: SourceStamp,
  media: MediaSummary,
  policy: Policy,
  freeBytes: number | null,
): FilePlannedData {
  const plan = planFile({ library, path, size: source.size, media, freeBytes }, policy);
  return {
    library,
    path,
    source,
    decision: plan.decision,
    reasons: plan.reasons,
    policyVersion: policyVersion(policy),
    target: plan.target,
    durationSec: media.durationSec,
    estimatedOutputBytes: plan.estimatedOutputBytes,
    ...(plan.diskNeededBytes !== undefined ? { diskNeededBytes: plan.diskNeededBytes } : {}),
    ...(plan.decision === 'encode' ? { limits: { maxSizeRatio: maxSizeRatioOf(policy) } } : {}),
    // A remux is not about saving: it may grow by the container's overhead, no more.
    ...(plan.decision === 'remux' ? { limits: { maxSizeRatio: REMUX_MAX_RATIO } } : {}),
  };
}

/**
 * The largest output/source ratio worth a swap: the policy's maxOutputRatio, tightened by its
 * minimum saving (10 % saving means at most 0.9), so an output short of either is kept.
 */
export function maxSizeRatioOf(policy: Policy): number {
  const bySaving = 1 - policy.guardrails.minSavingPercent / 100;
  return Math.round(Math.min(policy.guardrails.maxOutputRatio, bySaving) * 10_000) / 10_000;
}

/** The largest output/source ratio a remux may reach (container overhead, a few tags). */
export const REMUX_MAX_RATIO = 1.05;

/** Whether a health check says the source is damaged: it ends early, or too many errors. Pure. */
export function isDamaged(report: HealthReport, policy: Policy): boolean {
  return report.endsEarly !== undefined || report.errorCount > policy.health.maxErrors;
}

/** Whether a plan needs the source's health checked before it is published. */
export function needsHealthCheck(planned: FilePlannedData, policy: Policy): boolean {
  return (
    (planned.decision === 'encode' || planned.decision === 'remux') && policy.health.check !== 'off'
  );
}

/**
 * A plan with its source's health check applied: unchanged when healthy; else `damaged`, with
 * ffmpeg's own words in the reasons and the report attached, and nothing to encode. Pure.
 */
export function withHealth(
  planned: FilePlannedData,
  report: HealthReport,
  policy: Policy,
): FilePlannedData {
  if (!isDamaged(report, policy)) return planned;
  const reasons = [`the source failed its ${report.mode} health check (${report.checked})`];
  if (report.endsEarly) reasons.push(report.endsEarly);
  if (report.errorCount > 0) {
    reasons.push(
      `ffmpeg reported ${report.errorCount} decode error(s) (tolerated: ${policy.health.maxErrors}), first: ${report.errors[0] ?? ''}`,
    );
  }
  reasons.push('not encoded; planned again when the file or the policy changes');
  // Nothing is encoded, so neither encode limits nor a disk need apply.
  const rest: FilePlannedData = { ...planned };
  delete rest.limits;
  delete rest.diskNeededBytes;
  return {
    ...rest,
    decision: 'damaged',
    reasons,
    target: null,
    estimatedOutputBytes: null,
    health: report,
  };
}

// Key order is fixed by the code that builds targets, so JSON text equality is structural.
function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}
