import { join } from 'node:path';
import type { Command } from 'commander';
import { connectBus, silentLogger, startEmbeddedNats, type Bus } from '@conform/bus';
import { replayReadModels, startBulkWriter, type BulkWriter } from '@conform/projections';
import { CliError } from '../errors.js';
import { FLAG_ENV, natsOption, stateDirOption } from '../options.js';
import { DEFAULT_PORT, defaultStateDir } from '../settings.js';

/** Flags of the commands that read the event log. */
export interface LogReaderFlags {
  nats?: string;
  stateDir?: string;
}

/**
 * Runs `use` with a connection to the event log: `--nats`/NATS_URL, or else an embedded
 * nats-server on the state directory's store — refused while a `conform up` holds that store,
 * since two servers on one store would corrupt it.
 */
export async function withEventLog<T>(
  flags: LogReaderFlags,
  use: (bus: Bus, stateDir: string) => Promise<T>,
): Promise<T> {
  const stateDir = flags.stateDir || defaultStateDir();
  let url = flags.nats || undefined;
  let stop = async () => undefined as void;
  if (!url) {
    // Not a flag of these commands: only to tell a running conform up on this machine.
    const port = process.env[FLAG_ENV.port] || String(DEFAULT_PORT);
    const running = await fetch(`http://127.0.0.1:${port}/healthz`, {
      signal: AbortSignal.timeout(1_000),
    }).then(
      (r) => r.ok,
      () => false,
    );
    if (running) {
      throw new CliError(
        'STORE_IN_USE',
        `conform is running (status server on 127.0.0.1:${port}) and holds the embedded store in ${stateDir}; ` +
          'pass --nats URL of its nats-server (see its log), or stop it first',
      );
    }
    // Under the state directory's lock: never a second server on a store conform up holds.
    const server = await startEmbeddedNats({ stateDir, log: silentLogger() }).catch(
      (err: unknown) => {
        throw new CliError(
          'NATS_START',
          `cannot start the embedded nats-server: ${(err as Error).message}`,
        );
      },
    );
    url = server.url;
    stop = () => server.stop();
  }
  try {
    const bus = await connectBus({ servers: url, name: 'conform-cli' }).catch((err: unknown) => {
      throw new CliError('NATS_UNREACHABLE', (err as Error).message);
    });
    try {
      return await use(bus, stateDir);
    } finally {
      await bus.close();
    }
  } finally {
    await stop();
  }
}

/** Registers `conform replay`. */
export function register(program: Command): void {
  program
    .command('replay')
    .description('rebuild every read model from stream sequence 1 and swap the new database in')
    .addOption(natsOption('NATS server URL; default: the embedded store'))
    .addOption(stateDirOption('where the read models live'))
    .action(async (flags: LogReaderFlags) => {
      // The writer thread loads its modules while nats-server restores the store (1.7 s for
      // 1,000,000 events); it names no file until the replay runs, under the store's lock.
      const writer = startBulkWriter();
      try {
        await replay(flags, writer);
      } finally {
        await writer.close();
      }
    });
}

async function replay(flags: LogReaderFlags, writer: BulkWriter): Promise<void> {
  await withEventLog(flags, async (bus, stateDir) => {
    const path = join(stateDir, 'read-models.sqlite');
    const result = await replayReadModels(bus, path, {
      writer,
      onProgress: (applied, target) => process.stderr.write(`\rreplayed ${applied} / ${target}`),
      // Skipped, not fatal: the rest of the log still folds in, and the person sees which.
      onInvalid: (m) =>
        process.stderr.write(
          `\nskipping sequence ${m.sequence} (${m.subject}): not a valid event: ${m.error}\n`,
        ),
    }).catch((err: unknown) => {
      throw new CliError('REPLAY', (err as Error).message);
    });
    const rate = Math.round(result.messages / Math.max(0.001, result.elapsedMs / 1000));
    process.stdout.write(
      `\nrebuilt ${path} from ${result.messages} messages (${result.invalid} invalid, skipped) ` +
        `up to sequence ${result.appliedSequence} in ${result.elapsedMs} ms (${rate} events/s)\n`,
    );
  });
}
