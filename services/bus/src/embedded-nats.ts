import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { startNatsServer, type NatsServerHandle } from './nats-server.js';
import {
  findProcesses,
  processArgs,
  processStartTime,
  sameProcessAlive,
  terminateProcess,
} from './process-info.js';
import { acquireStateLock } from './state-lock.js';

/** The embedded server's pid file inside the state directory. */
export const NATS_PID_FILE = 'nats-server.pid';

/** An embedded nats-server that owns `<stateDir>/nats` while this process holds the lock. */
export interface EmbeddedNats extends NatsServerHandle {
  /** Orphaned servers found on the store and stopped before this one started. */
  orphansStopped: number[];
}

/**
 * Starts the embedded nats-server of `conform up`, one per store:
 * 1. takes the state directory's lock (a live holder is an error naming its pid);
 * 2. stops every nats-server still running on this store — found by the pid file and by
 *    scanning processes for `-sd <store>` — since with the lock ours, any such server is an
 *    orphan of a conform that died without its watchdog. Stopping beats reusing it: its ports,
 *    flags and version are unknown, and a fresh server replays the store from disk anyway;
 * 3. starts the server (with its watchdog) and records its pid and start time in the pid file.
 * `stop` stops the server, removes the pid file and releases the lock.
 */
export async function startEmbeddedNats(opts: {
  stateDir: string;
  log: Logger;
  binary?: string;
}): Promise<EmbeddedNats> {
  const stateDir = resolve(opts.stateDir);
  const storeDir = join(stateDir, 'nats');
  const pidFile = join(stateDir, NATS_PID_FILE);
  await mkdir(storeDir, { recursive: true });
  const lock = await acquireStateLock(stateDir);
  try {
    const orphansStopped: number[] = [];
    for (const pid of await orphansOf(storeDir, pidFile)) {
      opts.log.warn({ pid, store: storeDir }, 'stopping an orphaned nats-server on this store');
      if (!(await terminateProcess(pid))) {
        throw new Error(`an orphaned nats-server (pid ${pid}) on ${storeDir} would not stop`);
      }
      orphansStopped.push(pid);
    }
    const server = await startNatsServer({
      storeDir,
      binary: opts.binary,
      // A large log takes a while to read back; say so, or the start looks hung.
      onRestore: (r) =>
        r.done
          ? opts.log.info(
              { stream: r.stream, messages: r.messages },
              'nats-server restored a stream',
            )
          : opts.log.info({ stream: r.stream }, 'nats-server is restoring a stream from its store'),
    });
    const record = { pid: server.pid, startTime: await processStartTime(server.pid) };
    await writeFile(pidFile, `${JSON.stringify(record)}\n`);
    return {
      ...server,
      orphansStopped,
      stop: async (stopOpts) => {
        try {
          await server.stop(stopOpts);
          await rm(pidFile, { force: true });
        } finally {
          await lock.release();
        }
      },
    };
  } catch (err) {
    await lock.release();
    throw err;
  }
}

/** Live nats-servers using `storeDir`: the one in the pid file, and any found by its arguments. */
async function orphansOf(storeDir: string, pidFile: string): Promise<number[]> {
  const pids = new Set<number>();
  const recorded = await readFile(pidFile, 'utf8')
    .then((s) => JSON.parse(s) as { pid?: number; startTime?: string | null })
    .catch(() => null);
  if (recorded?.pid && (await sameProcessAlive(recorded.pid, recorded.startTime ?? null))) {
    const args = await processArgs(recorded.pid);
    if (args && usesStore(args, storeDir)) pids.add(recorded.pid);
  }
  for (const pid of await findProcesses((args) => usesStore(args, storeDir))) pids.add(pid);
  pids.delete(process.pid);
  return [...pids];
}

/** Whether an argument vector is a nats-server with this JetStream store. */
export function usesStore(args: string[], storeDir: string): boolean {
  if (!(args[0] ?? '').endsWith('nats-server')) return false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = ['-sd', '--store_dir'].includes(a)
      ? args[i + 1]
      : a.startsWith('--store_dir=')
        ? a.slice('--store_dir='.length)
        : a.startsWith('-sd=')
          ? a.slice(4)
          : undefined;
    if (value !== undefined && resolve(value) === storeDir) return true;
  }
  return false;
}
