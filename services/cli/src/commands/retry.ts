import { resolve } from 'node:path';
import type { Command } from 'commander';
import { lastEventOf } from '@conform/bus';
import { retryRefusal } from '@conform/contracts';
import { findLastPlannedByPath } from '@conform/encoder';
import { CliError } from '../errors.js';
import { natsOption } from '../options.js';
import { publishControl, withBus } from './control-bus.js';

/** Registers `conform retry PATH`. */
export function register(program: Command): void {
  program
    .command('retry')
    .description('encode a file again from its last plan (after a failure or a dead letter)')
    .argument('<path>', 'the library file to retry')
    .addOption(natsOption('NATS server URL'))
    .option(
      '--force',
      'retry a file that was kept (a re-encode did not save enough) anyway; the same policy usually keeps it again',
    )
    .action(async (rawPath: string, flags: { nats?: string; force?: boolean }) => {
      const path = resolve(rawPath);
      await withBus(flags.nats, async (bus) => {
        const planned = await findLastPlannedByPath(bus, path);
        if (!planned) {
          throw new CliError('NOT_PLANNED', `${path} was never planned: nothing to retry`);
        }
        // Kept after this very plan (a later plan starts afresh): compare positions in the log.
        const [plan, kept] = await Promise.all([
          lastEventOf(bus, 'file.planned', planned.fileId),
          lastEventOf(bus, 'file.kept', planned.fileId),
        ]);
        const keptAfterPlan = kept && plan && kept.seq > plan.seq ? kept.event.data : null;
        const refusal = retryRefusal(planned, keptAfterPlan, flags.force === true);
        if (refusal) throw new CliError(refusal.code, refusal.message);
        await publishControl(bus, planned.fileId, { action: 'retry', path, now: false });
      });
      process.stdout.write(`retry requested for ${path}\n`);
    });
}
