import type { Command } from 'commander';
import { cleanLeftovers, type ArchiverLibrary } from '@conform/archiver';
import { UsageError } from '../errors.js';
import { configOption, natsOption, stateDirOption } from '../options.js';
import { loadConfigOrFail } from './config.js';
import { withEventLog, type LogReaderFlags } from './replay.js';

interface CleanFlags extends LogReaderFlags {
  config?: string;
  dryRun?: boolean;
  json?: boolean;
}

/** Registers `conform clean`. */
export function register(program: Command): void {
  program
    .command('clean')
    .description(
      'remove leftovers older than each library’s workRetentionHours: work outputs of failed ' +
        'encodes, verifications and swaps, and archive copies of originals still in place (only when byte-identical)',
    )
    .addOption(configOption('quality.yaml naming the libraries'))
    .option('--dry-run', 'list what would be removed, remove nothing')
    .option('--json', 'print the result as JSON')
    .addOption(natsOption('NATS server URL; default: the embedded store'))
    .addOption(stateDirOption('state directory of the embedded store'))
    .action(async (flags: CleanFlags) => {
      const file = flags.config;
      if (!file) throw new UsageError('conform clean needs --config FILE (the libraries to clean)');
      const quality = await loadConfigOrFail(file);
      const libraries: ArchiverLibrary[] = quality.libraries.map((l) => ({
        root: l.root,
        archive: l.archive ?? l.root,
        workRetentionHours: l.workRetentionHours,
      }));
      const dryRun = flags.dryRun === true;
      const results = await withEventLog(flags, (bus) =>
        cleanLeftovers(bus, libraries, { dryRun }),
      );
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ dryRun, results }, null, 2)}\n`);
        return;
      }
      if (results.length === 0) {
        process.stdout.write('nothing to clean\n');
        return;
      }
      for (const r of results) {
        const verb = r.skipped ? `kept (${r.skipped})` : dryRun ? 'would remove' : 'removed';
        process.stdout.write(`${verb}: ${r.action.path} — ${r.action.why}\n`);
      }
    });
}
