import { resolve } from 'node:path';
import type { Command } from 'commander';
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
    .action(async (rawPath: string, flags: { nats?: string }) => {
      const path = resolve(rawPath);
      await withBus(flags.nats, async (bus) => {
        const planned = await findLastPlannedByPath(bus, path);
        if (!planned) {
          throw new CliError('NOT_PLANNED', `${path} was never planned: nothing to retry`);
        }
        if (planned.data.decision !== 'encode' && planned.data.decision !== 'remux') {
          throw new CliError(
            'NOT_ENCODE',
            `${path} was last planned as ${planned.data.decision} (${planned.data.reasons.join('; ')}): nothing to encode`,
          );
        }
        await publishControl(bus, planned.fileId, { action: 'retry', path, now: false });
      });
      process.stdout.write(`retry requested for ${path}\n`);
    });
}
