import type { Command } from 'commander';
import { connectionOptions, logger, runUntilSignalled } from '../lifecycle.js';
import { SERVICE_NAMES } from '../runtime.js';
import { CliError, UsageError } from '../errors.js';
import {
  checkLibraries,
  resolveSettings,
  type ConformSettings,
  type RawFlags,
} from '../settings.js';
import { loadConfigOrFail } from './config.js';

/** Registers `conform up`. */
export function register(program: Command): void {
  connectionOptions(
    program
      .command('up')
      .description('run every service in one process (for one machine)')
      .option('--library <dir>', 'library folder to watch')
      .option('--archive <dir>', 'where originals are archived before replacement')
      .option('--config <file>', 'quality.yaml: the libraries, their archives and the policy'),
  ).action(async (flags: RawFlags & { config?: string }) => {
    const settings = flags.config
      ? await settingsFromConfig(flags, flags.config)
      : resolveSettings(flags);
    await checkLibraries(settings.libraries);
    await runUntilSignalled(settings, SERVICE_NAMES, logger());
  });
}

/** Settings whose libraries and policy come from a quality.yaml instead of --library/--archive. */
async function settingsFromConfig(flags: RawFlags, file: string): Promise<ConformSettings> {
  if (flags.library || flags.archive) {
    throw new UsageError('give either --config FILE or --library/--archive, not both');
  }
  const quality = await loadConfigOrFail(file);
  const libraries = quality.libraries.map((lib) => {
    if (lib.keepOriginals || !lib.archive) {
      throw new CliError(
        'UNSUPPORTED',
        `${quality.file}: library ${lib.name}: keepOriginals is not supported by the archiver yet; give it an archive folder`,
      );
    }
    return { root: lib.root, archive: lib.archive };
  });
  return {
    ...resolveSettings(flags, process.env, { requireLibrary: false }),
    libraries,
    quality,
  };
}
