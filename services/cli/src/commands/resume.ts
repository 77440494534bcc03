import type { Command } from 'commander';
import { CONTROL_FILE_ID } from '@conform/contracts';
import { publishControl, withBus } from './control-bus.js';

/** Registers `conform resume`. */
export function register(program: Command): void {
  program
    .command('resume')
    .description('let encoders pull work again after conform pause')
    .option('--nats <url>', 'NATS server URL (env NATS_URL)')
    .action(async (flags: { nats?: string }) => {
      await withBus(flags.nats, (bus) =>
        publishControl(bus, CONTROL_FILE_ID, { action: 'resume', path: null, now: false }),
      );
      process.stdout.write('resume requested\n');
    });
}
