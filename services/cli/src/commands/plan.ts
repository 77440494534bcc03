import { relative } from 'node:path';
import type { Command } from 'commander';
import {
  connectBus,
  EVENT_LOG_STREAM,
  isNotFound,
  startNatsServer,
  type Bus,
  type NatsServerHandle,
} from '@conform/bus';
import type { PlanDecision } from '@conform/contracts';
import {
  decisionNow,
  freeBytes,
  policyLookup,
  policyVersion,
  readKnownFiles,
  type KnownFile,
  type PolicyLookup,
} from '@conform/planner';
import { join } from 'node:path';
import { CliError, UsageError } from '../errors.js';
import { defaultStateDir } from '../settings.js';
import { loadConfigOrFail } from './config.js';

/** One file's row in the dry-run report. */
export interface DryRunRow {
  path: string;
  library: string;
  decision: PlanDecision;
  reasons: string[];
  policyVersion: string;
  /** The version of the file's last recorded plan; null if it has none. */
  lastPolicyVersion: string | null;
  /** Whether the planner would publish a new plan (decision or target differ from the last). */
  changes: boolean;
  sizeBytes: number;
  estimatedOutputBytes: number | null;
  estimatedBytesSaved: number;
}

/** The dry-run report: every row and the totals. */
export interface DryRunReport {
  files: DryRunRow[];
  totals: Record<PlanDecision, number> & { estimatedBytesSaved: number; changes: number };
}

/** Decides every known file under the given policies without publishing anything. Pure. */
export function dryRun(
  known: KnownFile[],
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

/** The report as text a person reads: one block per file, then the totals. */
export function formatDryRun(report: DryRunReport): string {
  const lines: string[] = [];
  for (const f of report.files) {
    const saved = f.decision === 'encode' ? `  saves ~${human(f.estimatedBytesSaved)}` : '';
    const change = f.changes ? '  (changes)' : '';
    lines.push(`${f.decision.padEnd(9)} ${relative(f.library, f.path)}${saved}${change}`);
    for (const r of f.reasons) lines.push(`            - ${r}`);
  }
  const t = report.totals;
  lines.push(
    `${report.files.length} files: ${t.encode} to encode, ${t.compliant} compliant, ${t.skip} skipped; ` +
      `estimated saving ${human(t.estimatedBytesSaved)}; ${t.changes} would be re-planned`,
  );
  return lines.join('\n') + '\n';
}

function human(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let n = bytes;
  let u = 0;
  while (n >= 1000 && u < units.length - 1) {
    n /= 1000;
    u++;
  }
  return `${n >= 100 || u === 0 ? Math.round(n) : n.toFixed(1)} ${units[u]}`;
}

/** Registers `conform plan`. */
export function register(program: Command): void {
  program
    .command('plan')
    .description('show what the policy would do with every known file; changes nothing')
    .option('--dry-run', 'decide without publishing (required)')
    .option('--json', 'print the report as JSON')
    .option('--config <file>', 'quality.yaml to decide with (default: the built-in policy)')
    .option('--nats <url>', 'NATS of a running conform (env NATS_URL)')
    .option('--state-dir <dir>', 'state directory of an embedded conform that is not running')
    .action(
      async (flags: {
        dryRun?: boolean;
        json?: boolean;
        config?: string;
        nats?: string;
        stateDir?: string;
      }) => {
        if (!flags.dryRun) {
          throw new UsageError(
            'conform plan needs --dry-run (the planner itself re-plans changed files when it starts)',
          );
        }
        const config = flags.config ? await loadConfigOrFail(flags.config) : null;
        const policyOf = policyLookup({
          policy: config?.defaults,
          libraries: config?.libraries.map((l) => ({ root: l.root, policy: l.policy })),
        });
        const known = await withEventLog(flags, readKnownFiles);
        const free = new Map<string, number | null>();
        for (const k of known) {
          const lib = k.probed.data.library;
          if (!free.has(lib)) free.set(lib, await freeBytes(lib));
        }
        const report = dryRun(known, policyOf, (lib) => free.get(lib) ?? null);
        process.stdout.write(
          flags.json ? JSON.stringify(report, null, 2) + '\n' : formatDryRun(report),
        );
      },
    );
}

/** Connects to the given NATS, or starts one on the state directory's store for the read. */
async function withEventLog<T>(
  flags: { nats?: string; stateDir?: string },
  read: (bus: Bus) => Promise<T[]>,
): Promise<T[]> {
  const url = flags.nats || process.env.NATS_URL || null;
  let server: NatsServerHandle | null = null;
  if (!url) {
    const stateDir = flags.stateDir ?? defaultStateDir();
    server = await startNatsServer({ storeDir: join(stateDir, 'nats') });
  }
  let bus: Bus | null = null;
  try {
    bus = await connectBus({ servers: url ?? server!.url, name: 'conform-plan' });
    const exists = await bus.jsm.streams.info(EVENT_LOG_STREAM).then(
      () => true,
      (err: unknown) => {
        if (isNotFound(err)) return false;
        throw err;
      },
    );
    return exists ? await read(bus) : [];
  } catch (err) {
    throw new CliError(
      'EVENT_LOG_UNREADABLE',
      `could not read the event log: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  } finally {
    await bus?.close();
    await server?.stop();
  }
}
