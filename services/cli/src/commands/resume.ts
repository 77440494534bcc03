import type { Command } from 'commander';
import { CONTROL_FILE_ID } from '@conform/contracts';
import { natsOption } from '../options.js';
import { publishControl, withBus } from './control-bus.js';

/** Registers `conform resume`. */
export function register(program: Command): void {
  program
    .command('resume')
    .description('let encoders pull work again after conform pause')
    .addOption(natsOption('NATS server URL'))
    .action(async (flags: { nats?: string }) => {
      await withBus(flags.nats, (bus) =>
        publishControl(bus, CONTROL_FILE_ID, { action: 'resume', path: null, now: false }),
      );
      process.stdout.write('resume requested\n');
    });
}
