import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { connectionFlags, connectionOptions, logger, runUntilSignalled } from '../lifecycle.js';
import { configOption, pathMapOption } from '../options.js';
import { SERVICE_NAMES, type ServiceToRun } from '../runtime.js';
import { checkLibraries, resolveSettings, type RawFlags } from '../settings.js';
import { settingsFromConfig } from './up.js';

/** Registers `conform run`. */
export function register(program: Command): void {
  connectionOptions(
    program
      .command('run')
      .description(`run one service against an existing NATS (${SERVICE_NAMES.join(', ')})`)
      .argument('<service>', 'the service to run')
      .option('--library <dir>', 'library folder (watcher, archiver)')
      .option('--archive <dir>', 'archive folder (archiver)')
      .addOption(configOption('quality.yaml: libraries, policy and integrations (notify needs it)'))
      .addOption(
        pathMapOption(
          'where this node sees a canonical (watcher) path, repeatable (the variable: comma-separated)',
        ),
      ),
  ).action(async (service: string, parsed: RawFlags & { config?: string }, cmd: Command) => {
    const flags = connectionFlags(parsed, cmd);
    if (!(SERVICE_NAMES as readonly string[]).includes(service)) {
      throw new UsageError(
        `unknown service "${service}"; choose one of ${SERVICE_NAMES.join(', ')}`,
      );
    }
    const needsLibrary = service === 'watcher' || service === 'archiver';
    // Compose passes the mounted quality.yaml; --library/--archive still win for a quick start.
    const config =
      flags.library && cmd.getOptionValueSource('config') === 'env' ? undefined : flags.config;
    const settings = config
      ? await settingsFromConfig(flags, config)
      : resolveSettings(flags, process.env, { requireLibrary: needsLibrary });
    if (!settings.natsUrl) {
      throw new UsageError('conform run needs a NATS server: --nats URL or NATS_URL');
    }
    // notify only talks to servers about paths; it never touches the library folders itself.
    // Configured paths are canonical; this node checks them where it reaches them.
    if (service !== 'notify') {
      await checkLibraries(
        settings.libraries.map((l) => ({
          ...l,
          root: settings.pathMap.toLocal(l.root),
          archive: settings.pathMap.toLocal(l.archive),
        })),
      );
    }
    await runUntilSignalled(settings, [service as ServiceToRun], logger());
  });
}
