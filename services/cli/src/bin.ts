#!/usr/bin/env node
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { createLogger, type Logger } from '@conform/bus';
import { CliError, UsageError } from './errors.js';
import { prepareDemoLibrary } from './demo-library.js';
import { SERVICE_NAMES, startConform, type RunningConform, type ServiceToRun } from './runtime.js';
import { checkLibraries, resolveSettings, type RawFlags } from './settings.js';

// The only place errors become exit codes: everything below throws typed errors.

const program = new Command()
  .name('conform')
  .description(
    'Keeps a video library conforming to a quality policy, one verified event at a time.',
  )
  .showHelpAfterError();

function connectionOptions(cmd: Command): Command {
  return cmd
    .option(
      '--nats <url>',
      'NATS server URL (env NATS_URL); without it an embedded nats-server is started',
    )
    .option(
      '--state-dir <dir>',
      'where the embedded NATS store and read models live (env CONFORM_STATE_DIR)',
    )
    .option('--host <host>', 'address the status server binds (env CONFORM_HOST)', undefined)
    .option('--port <n>', 'status server port, 0 for any free port (env CONFORM_PORT)')
    .addOption(
      new Option(
        '--stability-window <ms>',
        'how long a file must stay unchanged before it is discovered',
      ),
    )
    .addOption(
      new Option('--slots <n>', 'concurrent encodes in this process (env CONFORM_ENCODER_SLOTS)'),
    )
    .addOption(
      new Option('--encoder <name>', 'force an encoder instead of detecting one').choices([
        'auto',
        'libx265',
        'hevc_nvenc',
      ]),
    );
}

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

connectionOptions(
  program
    .command('run')
    .description(`run one service against an existing NATS (${SERVICE_NAMES.join(', ')})`)
    .argument('<service>', 'the service to run')
    .option('--library <dir>', 'library folder (watcher, archiver)')
    .option('--archive <dir>', 'archive folder (archiver)'),
).action(async (service: string, flags: RawFlags) => {
  if (!(SERVICE_NAMES as readonly string[]).includes(service)) {
    throw new UsageError(`unknown service "${service}"; choose one of ${SERVICE_NAMES.join(', ')}`);
  }
  const needsLibrary = service === 'watcher' || service === 'archiver';
  const settings = resolveSettings(flags, process.env, { requireLibrary: needsLibrary });
  if (!settings.natsUrl) {
    throw new UsageError('conform run needs a NATS server: --nats URL or NATS_URL');
  }
  await checkLibraries(settings.libraries);
  await runUntilSignalled(settings, [service as ServiceToRun], logger());
});

connectionOptions(
  program
    .command('demo')
    .description('make a demo library of generated clips and run conform on it')
    .option('--dir <dir>', 'where the demo library, archive and state go', 'demo'),
).action(async (flags: RawFlags & { dir: string }) => {
  const dir = resolve(flags.dir);
  const say = (line: string) => process.stderr.write(line + '\n');
  say(`conform demo: preparing ${dir}/library`);
  const demo = await prepareDemoLibrary(dir, say);
  const settings = resolveSettings({
    ...flags,
    library: demo.library,
    archive: demo.archive,
    stateDir: flags.stateDir ?? demo.stateDir,
    stabilityWindow: flags.stabilityWindow ?? '2000',
  });
  await runUntilSignalled(settings, SERVICE_NAMES, logger(), (running) => {
    say('');
    say(`conform is running on the demo library. Look at:`);
    say(`  ${running.statusUrl}/api/summary   counts per status`);
    say(`  ${running.statusUrl}/api/files     every file and its status`);
    say(`  ${demo.library}    the library (H.264 files become HEVC in place)`);
    say(`  ${demo.archive}    the archived originals, byte for byte`);
    say(`Drop more videos into the library to see them processed. Ctrl-C stops everything.`);
    say('');
  });
});

function logger(): Logger {
  return createLogger({ pretty: process.stdout.isTTY === true, name: 'conform' });
}

/** Starts the services, then waits for SIGINT/SIGTERM and stops everything before exiting. */
async function runUntilSignalled(
  settings: ReturnType<typeof resolveSettings>,
  services: readonly ServiceToRun[],
  log: Logger,
  onStarted?: (running: RunningConform) => void,
): Promise<void> {
  // Listen before starting, so a signal during start-up also stops cleanly. The listeners stay
  // registered (`on`, not `once`): execa's exit hook re-raises a signal it thinks nobody else
  // handles, which would kill us before the clean stop. A second signal means "now".
  let signals = 0;
  const signalled = new Promise<NodeJS.Signals>((resolveSignal) => {
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals === 1) resolveSignal(sig);
      else process.exit(130);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  const running = await startConform(settings, services, log);
  onStarted?.(running);
  const signal = await signalled;
  log.info({ signal }, 'stopping: finishing or returning in-flight work');
  await running.stop();
  log.info('stopped cleanly');
  log.flush?.();
}

program.parseAsync(process.argv).then(
  () => process.exit(0),
  (err: unknown) => {
    if (err instanceof CliError) {
      process.stderr.write(`conform: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    process.stderr.write(`conform: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
