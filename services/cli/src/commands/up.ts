import type { Command } from 'commander';
import { connectionOptions, logger, runUntilSignalled } from '../lifecycle.js';
import { SERVICE_NAMES } from '../runtime.js';
import { checkLibraries, resolveSettings, type RawFlags } from '../settings.js';

/** Registers `conform up`. */
export function register(program: Command): void {
  connectionOptions(
    program
      .command('up')
      .description('run every service in one process (for one machine)')
      .option('--library <dir>', 'library folder to watch')
      .option('--archive <dir>', 'where originals are archived before replacement'),
  ).action(async (flags: RawFlags) => {
    const settings = resolveSettings(flags);
    await checkLibraries(settings.libraries);
    await runUntilSignalled(settings, SERVICE_NAMES, logger());
  });
}
