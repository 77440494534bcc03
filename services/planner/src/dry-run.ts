import type { Bus } from '@conform/bus';
import type { DryRunReport, DryRunRow } from '@conform/contracts';
import { decisionNow, type ProbedFile } from './decide.js';
import { readKnownFiles } from './known-files.js';
import { policyVersion } from './policy.js';
import { freeBytes } from './disk.js';
import type { PolicyLookup } from './service.js';

// What `conform plan --dry-run` prints and the dashboard's dry-run view shows: the planner's
// own decision for every known file, published nowhere.

/** Decides every known file under the given policies without publishing anything. Pure. */
export function dryRun(
  known: ProbedFile[],
  policyOf: PolicyLookup,
  freeOf: (library: string) => number | null,
): DryRunReport {
  const files = known
    .filter((k) => !k.settled)
    .map((k): DryRunRow => {
      const { library, path, source } = k.probed.data;
      const policy = policyOf(library);
      // Exactly what the planner would publish: held-back and damaged outcomes included.
      const plan = decisionNow(k, policy, freeOf(library));
      const last = k.planned?.data ?? null;
      const saved =
        plan.decision === 'encode' && plan.estimatedOutputBytes !== null
          ? Math.max(0, source.size - plan.estimatedOutputBytes)
          : 0;
      return {
        fileId: k.fileId,
        path,
        library,
        decision: plan.decision,
        reasons: plan.reasons,
        policyVersion: policyVersion(policy),
        lastPolicyVersion: last?.policyVersion ?? null,
        changes:
          !last ||
          last.decision !== plan.decision ||
          JSON.stringify(last.target) !== JSON.stringify(plan.target),
        sizeBytes: source.size,
        estimatedOutputBytes: plan.estimatedOutputBytes,
        estimatedBytesSaved: saved,
      };
    })
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const totals = {
    encode: 0,
    remux: 0,
    skip: 0,
    compliant: 0,
    damaged: 0,
    estimatedBytesSaved: 0,
    changes: 0,
  };
  for (const f of files) {
    totals[f.decision]++;
    totals.estimatedBytesSaved += f.estimatedBytesSaved;
    if (f.changes) totals.changes++;
  }
  return { files, totals };
}

/** The dry run over the event log: reads the known files, measures free space, decides. */
export async function dryRunFromLog(bus: Bus, policyOf: PolicyLookup): Promise<DryRunReport> {
  const known = await readKnownFiles(bus);
  const free = new Map<string, number | null>();
  for (const k of known) {
    const lib = k.probed.data.library;
    if (!free.has(lib)) free.set(lib, await freeBytes(lib));
  }
  return dryRun(known, policyOf, (lib) => free.get(lib) ?? null);
}
