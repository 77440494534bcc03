import { stat } from 'node:fs/promises';
import type { SourceStamp } from '@conform/contracts';
import {
  consumerSpec,
  startSubscriptions,
  type EventHandler,
  type RunningService,
  type ServiceContext,
} from '@conform/bus';
import { tryProbeMedia } from '@conform/media';
import { checkFreshness, planDiscovery } from './decide.js';
import { assertValidPolicy, DEFAULT_POLICY, policyVersion, type Policy } from './policy.js';

/** Options of {@link startPlanner}. */
export interface PlannerOptions {
  /** Files probed at once by this process; defaults to 2. */
  slots?: number;
  policy?: Policy;
}

/**
 * Starts the planner: for each `file.discovered`, re-checks the file is unchanged, probes it
 * and publishes `file.probed` + `file.planned`, or `file.unreadable`.
 */
export async function startPlanner(
  ctx: ServiceContext,
  opts: PlannerOptions = {},
): Promise<RunningService> {
  const policy = opts.policy ?? DEFAULT_POLICY;
  assertValidPolicy(policy);
  ctx.log.info({ policyVersion: policyVersion(policy) }, 'planner policy');
  return startSubscriptions('planner', ctx, [
    {
      consumer: consumerSpec('planner', 'file.discovered'),
      slots: opts.slots ?? 2,
      handle: plannerHandler(policy),
    },
  ]);
}

/** The planner's message handler: read (stat, probe) → pure plan → publish. */
export function plannerHandler(policy: Policy): EventHandler {
  return async (event, hctx) => {
    if (event.type !== 'file.discovered') return;
    const discovered = event.data;
    const freshness = checkFreshness(discovered, await currentStamp(discovered.path));
    if (!freshness.fresh) {
      hctx.log.info(
        { path: discovered.path, why: freshness.why },
        'file changed since it was discovered; waiting for the newer discovery',
      );
      return;
    }
    const probe = await tryProbeMedia(discovered.path, { signal: hctx.signal });
    if (!probe.ok) {
      hctx.log.warn({ path: discovered.path, reason: probe.reason }, 'file is not readable media');
    }
    for (const next of planDiscovery(discovered, probe, policy)) await hctx.emit(next);
  };
}

async function currentStamp(path: string): Promise<SourceStamp | null> {
  try {
    const s = await stat(path);
    return { size: s.size, mtimeMs: s.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
