import type { Command } from 'commander';
import { Option } from 'commander';
import { createLogger, type Logger } from '@conform/bus';
import { DEFAULT_ENCODE_NICENESS, ENCODER_NAMES } from '@conform/encoder';
import { startConform, type RunningConform, type ServiceToRun } from './runtime.js';
import { FLAG_ENV, natsOption, pathMapEntries, stateDirOption } from './options.js';
import { DEFAULT_NATS_WAIT_SECONDS, type RawFlags, type resolveSettings } from './settings.js';

/** Adds the flags every long-running command shares (NATS, state, status server, encoder). */
export function connectionOptions(cmd: Command): Command {
  return cmd
    .addOption(natsOption('NATS server URL; without it an embedded nats-server is started'))
    .addOption(
      new Option(
        '--nats-wait <seconds>',
        `how long to wait for NATS at start-up, retrying with backoff (default ${DEFAULT_NATS_WAIT_SECONDS}, 0: one attempt)`,
      ).env(FLAG_ENV.natsWait),
    )
    .addOption(stateDirOption('where the embedded NATS store and read models live'))
    .addOption(
      new Option(
        '--replicas <n>',
        'copies of the event log and its consumers on a NATS cluster, raised on an existing stream (default 1)',
      ).env(FLAG_ENV.replicas),
    )
    .addOption(new Option('--host <host>', 'address the status server binds').env(FLAG_ENV.host))
    .addOption(
      new Option('--port <n>', 'status server port, 0 for any free port').env(FLAG_ENV.port),
    )
    .addOption(
      new Option(
        '--metrics-port <n>',
        'serve /metrics here when the status service is not in this process',
      ).env(FLAG_ENV.metricsPort),
    )
    .addOption(
      new Option(
        '--stability-window <ms>',
        'how long a file must stay unchanged before it is discovered',
      ),
    )
    .addOption(new Option('--slots <n>', 'concurrent encodes in this process').env(FLAG_ENV.slots))
    .addOption(
      new Option(
        '--max-file-size <size>',
        'the largest source this node encodes, e.g. 8G or 500M; larger files go to other nodes (default: any size)',
      ).env(FLAG_ENV.maxFileSize),
    )
    .addOption(
      new Option(
        '--encode-nice <0-19>',
        `CPU niceness of the encodes, below the media server and conform's short jobs (default ${DEFAULT_ENCODE_NICENESS}, 0: normal priority)`,
      ).env(FLAG_ENV.encodeNice),
    )
    .addOption(
      new Option('--encoder <name>', 'force an encoder instead of detecting one')
        .choices(['auto', ...ENCODER_NAMES])
        .env(FLAG_ENV.encoder),
    );
}

/**
 * The flags of a command that took {@link connectionOptions}, as {@link resolveSettings} reads
 * them: the path map split where it came from CONFORM_PATH_MAP.
 */
export function connectionFlags<T extends RawFlags>(flags: T, cmd: Command): T {
  return {
    ...flags,
    pathMap: pathMapEntries(flags.pathMap, cmd.getOptionValueSource('pathMap')),
    maxFileSizeFromEnv: cmd.getOptionValueSource('maxFileSize') === 'env',
  };
}

/** The process logger: pino JSON, pretty when stdout is a terminal. */
export function logger(): Logger {
  return createLogger({ pretty: process.stdout.isTTY === true, name: 'conform' });
}

/** Starts the services, then waits for SIGINT/SIGTERM and stops everything before exiting. */
export async function runUntilSignalled(
  settings: ReturnType<typeof resolveSettings>,
  services: readonly ServiceToRun[],
  log: Logger,
  onStarted?: (running: RunningConform) => void,
): Promise<void> {
  // Listen before starting, so a signal during start-up also stops cleanly. The listeners stay
  // registered (`on`, not `once`): execa's exit hook re-raises a signal it thinks nobody else
  // handles, which would kill us before the clean stop. A second signal means "now": children
  // are killed and the embedded nats-server still gets its short clean stop before we exit.
  let signals = 0;
  let running: RunningConform | null = null;
  const stopping = new AbortController();
  const signalled = new Promise<NodeJS.Signals>((resolveSignal) => {
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals === 1) {
        stopping.abort(); // a start still waiting for NATS gives up
        return resolveSignal(sig);
      }
      if (signals > 2) process.exit(130); // a third: no more waiting at all
      log.warn({ signal: sig }, 'second signal: forcing a fast stop');
      const exit = () => {
        log.flush?.();
        process.exit(130);
      };
      // Before start-up finished there is nothing to force; the nats watchdog sees us exit.
      if (running) running.force().then(exit, exit);
      else exit();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  running = await startConform(settings, services, log, { signal: stopping.signal });
  onStarted?.(running);
  const signal = await signalled;
  const began = Date.now();
  log.info({ signal }, 'stopping: finishing or returning in-flight work');
  await running.stop();
  log.info({ stopMs: Date.now() - began }, 'stopped cleanly');
  log.flush?.();
}
