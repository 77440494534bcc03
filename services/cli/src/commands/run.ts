import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { connectionOptions, logger, runUntilSignalled } from '../lifecycle.js';
import { SERVICE_NAMES, type ServiceToRun } from '../runtime.js';
import { checkLibraries, resolveSettings, type RawFlags } from '../settings.js';

/** Registers `conform run`. */
export function register(program: Command): void {
  connectionOptions(
    program
      .command('run')
      .description(`run one service against an existing NATS (${SERVICE_NAMES.join(', ')})`)
      .argument('<service>', 'the service to run')
      .option('--library <dir>', 'library folder (watcher, archiver)')
      .option('--archive <dir>', 'archive folder (archiver)')
      .option(
        '--path-map <from=to>',
        'where this node sees a canonical (watcher) path, repeatable (env CONFORM_PATH_MAP, comma-separated)',
        (entry: string, all: string[] = []) => [...all, entry],
      ),
  ).action(async (service: string, flags: RawFlags) => {
    if (!(SERVICE_NAMES as readonly string[]).includes(service)) {
      throw new UsageError(
        `unknown service "${service}"; choose one of ${SERVICE_NAMES.join(', ')}`,
      );
    }
    const needsLibrary = service === 'watcher' || service === 'archiver';
    const settings = resolveSettings(flags, process.env, { requireLibrary: needsLibrary });
    if (!settings.natsUrl) {
      throw new UsageError('conform run needs a NATS server: --nats URL or NATS_URL');
    }
    // Configured paths are canonical; this node checks them where it reaches them.
    await checkLibraries(
      settings.libraries.map((l) => ({
        ...l,
        root: settings.pathMap.toLocal(l.root),
        archive: settings.pathMap.toLocal(l.archive),
      })),
    );
    await runUntilSignalled(settings, [service as ServiceToRun], logger());
  });
}
