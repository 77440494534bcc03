import { relative } from 'node:path';
import type { Command } from 'commander';
import {
  connectBus,
  EVENT_LOG_STREAM,
  isNotFound,
  silentLogger,
  startEmbeddedNats,
  type Bus,
  type NatsServerHandle,
} from '@conform/bus';
import type { DryRunReport } from '@conform/contracts';
import { DEFAULT_POLICY, dryRun, dryRunFromLog, policyLookup } from '@conform/planner';
import { CliError, UsageError } from '../errors.js';
import { natsOption, stateDirOption } from '../options.js';
import { defaultStateDir } from '../settings.js';
import { loadConfigOrFail } from './config.js';

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
    .addOption(natsOption('NATS of a running conform'))
    .addOption(stateDirOption('state directory of an embedded conform that is not running'))
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
        const report = await withEventLog(flags, (bus) => dryRunFromLog(bus, policyOf));
        process.stdout.write(
          flags.json ? JSON.stringify(report, null, 2) + '\n' : formatDryRun(report),
        );
      },
    );
}

/** Connects to the given NATS, or starts one on the state directory's store for the read. */
async function withEventLog(
  flags: { nats?: string; stateDir?: string },
  read: (bus: Bus) => Promise<DryRunReport>,
): Promise<DryRunReport> {
  const url = flags.nats || null;
  let server: NatsServerHandle | null = null;
  if (!url) {
    const stateDir = flags.stateDir || defaultStateDir();
    // Under the state directory's lock: never a second server on a store conform up holds.
    server = await startEmbeddedNats({ stateDir, log: silentLogger() });
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
    return exists
      ? await read(bus)
      : dryRun(
          [],
          () => DEFAULT_POLICY,
          () => null,
        );
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
