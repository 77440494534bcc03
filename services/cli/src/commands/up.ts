import type { Command } from 'commander';
import { connectionFlags, connectionOptions, logger, runUntilSignalled } from '../lifecycle.js';
import { SERVICE_NAMES } from '../runtime.js';
import { UsageError } from '../errors.js';
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
  ).action(async (parsed: RawFlags & { config?: string }, cmd: Command) => {
    const flags = connectionFlags(parsed, cmd);
    const settings = flags.config
      ? await settingsFromConfig(flags, flags.config)
      : resolveSettings(flags);
    await checkLibraries(settings.libraries);
    await runUntilSignalled(settings, SERVICE_NAMES, logger());
  });
}

/** Settings whose libraries and policy come from a quality.yaml instead of --library/--archive. */
export async function settingsFromConfig(flags: RawFlags, file: string): Promise<ConformSettings> {
  if (flags.library || flags.archive) {
    throw new UsageError('give either --config FILE or --library/--archive, not both');
  }
  const quality = await loadConfigOrFail(file);
  const libraries = quality.libraries.map((lib) => ({
    root: lib.root,
    // Under keepOriginals the archiver keeps originals beside the file and needs no archive.
    archive: lib.archive ?? lib.root,
    originals: lib.keepOriginals
      ? ('keep' as const)
      : lib.deleteOriginalsAfterDays
        ? { deleteAfterDays: lib.deleteOriginalsAfterDays }
        : ('archive' as const),
    keepMtime: lib.keepMtime,
    workRetentionHours: lib.workRetentionHours,
    watch: lib.watch,
  }));
  return {
    ...resolveSettings(flags, process.env, { requireLibrary: false }),
    libraries,
    quality,
  };
}
