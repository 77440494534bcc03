import type { Command } from 'commander';
import { CONTROL_FILE_ID } from '@conform/contracts';
import { natsOption } from '../options.js';
import { publishControl, withBus } from './control-bus.js';

/** Registers `conform pause`. */
export function register(program: Command): void {
  program
    .command('pause')
    .description('stop every encoder pulling new work (running encodes finish)')
    .option('--now', 'also stop running encodes and return them to the queue')
    .addOption(natsOption('NATS server URL'))
    .action(async (flags: { now?: boolean; nats?: string }) => {
      await withBus(flags.nats, (bus) =>
        publishControl(bus, CONTROL_FILE_ID, {
          action: 'pause',
          path: null,
          now: flags.now === true,
        }),
      );
      process.stdout.write(
        `pause requested${flags.now ? ' (running encodes return to the queue)' : ''}; conform resume undoes it\n`,
      );
    });
}
