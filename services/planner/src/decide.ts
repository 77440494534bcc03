import type { DomainEvent, FileDiscoveredData, SourceStamp } from '@conform/contracts';
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
): DomainEvent[] {
  const { library, path } = discovered;
  const source: SourceStamp = { size: discovered.size, mtimeMs: discovered.mtimeMs };
  if (!probe.ok) {
    return [{ type: 'file.unreadable', data: { library, path, source, reason: probe.reason } }];
  }
  const plan = planFile(probe.media, path, policy);
  return [
    { type: 'file.probed', data: { library, path, source, media: probe.media } },
    {
      type: 'file.planned',
      data: {
        library,
        path,
        source,
        decision: plan.decision,
        reasons: plan.reasons,
        policyVersion: policyVersion(policy),
        target: plan.target,
        durationSec: probe.media.durationSec,
        estimatedOutputBytes: plan.estimatedOutputBytes,
      },
    },
  ];
}
