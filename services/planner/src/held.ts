import { relative } from 'node:path';
import { DeferError, lastEventOf, type Bus, type EventHandler } from '@conform/bus';
import { holdOf, isHeldPlan, type PlanningHistory } from './decide.js';
import { planFromDisk } from './disk.js';
import type { PolicyLookup } from './service.js';

/**
 * Handles the planner's own `file.planned`: a held plan waits (naked until its hold ends),
 * then the file is planned from disk, unless a newer plan of the file came first.
 */
export function heldPlanHandler(
  bus: Pick<Bus, 'jsm'>,
  policyOf: PolicyLookup,
  historyOf: (fileId: string) => Promise<PlanningHistory>,
  now: () => number = Date.now,
): EventHandler {
  return async (event, hctx) => {
    if (event.type !== 'file.planned' || !isHeldPlan(event.data)) return;
    const { library, path, source } = event.data;
    const hold = holdOf(source, policyOf(library), now());
    if (hold) {
      throw new DeferError(`held until ${new Date(hold.untilMs).toISOString()}`, {
        delayMs: Math.ceil(hold.untilMs - now()) + 1_000,
      });
    }
    const latest = await lastEventOf(bus, 'file.planned', event.fileId);
    if (latest && latest.event.id !== event.id) return; // re-planned since (changed, re-discovered)
    const discovered = { library, path, relativePath: relative(library, path), ...source };
    for (const next of (await planFromDisk(event.fileId, discovered, policyOf, historyOf, hctx)) ??
      []) {
      await hctx.emit(next);
    }
  };
}
