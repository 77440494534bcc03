import { openKeyValue, type Bus } from '@conform/bus';
import { policyVersion, type Policy } from './policy.js';

/**
 * Where the planner records the policies its last complete re-plan pass applied. A start under
 * the same policies has nothing to re-plan: every plan since that pass was made under them (the
 * planner acks a discovery only after its plan is published), so the pass — a read of the whole
 * event log, minutes at a million files — is skipped. Any difference, a missing or unreadable
 * marker, or a pass that did not finish (the marker is written after it) runs the pass.
 */
export const PLANNER_BUCKET = 'conform-planner';
const REPLANNED_KEY = 'replanned-policies';

/** The policies a re-plan pass applies, as one comparable string. Pure. */
export function replanKey(
  fallback: Policy,
  libraries: readonly { root: string; policy: Policy }[],
): string {
  const byRoot = Object.fromEntries(
    [...libraries]
      .sort((a, b) => (a.root < b.root ? -1 : a.root > b.root ? 1 : 0))
      .map((l) => [l.root, policyVersion(l.policy)]),
  );
  return JSON.stringify({ fallback: policyVersion(fallback), libraries: byRoot });
}

export interface ReplanMarker {
  /** Whether the last complete pass applied exactly `key`. */
  matches(key: string): Promise<boolean>;
  /** Records that a pass applying `key` finished. */
  record(key: string): Promise<void>;
}

/** Opens (creating when missing) the planner's bucket, with the event log's replicas. */
export async function openReplanMarker(bus: Bus, replicas = 1): Promise<ReplanMarker> {
  const kv = await openKeyValue(bus, PLANNER_BUCKET, { replicas });
  return {
    async matches(key) {
      return (await kv.get(REPLANNED_KEY)) === key;
    },
    async record(key) {
      await kv.put(REPLANNED_KEY, key);
    },
  };
}
