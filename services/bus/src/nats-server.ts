// One job: a nats-server child with JetStream on free loopback ports, from spawn to ready and
// to its stop, with the watchdog that stops it when this process dies. Past 250 lines because
// readiness has two clocks (the start itself, then as long as the store's recovery takes) and
// the watchdog belongs to the same child's lifetime.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { NatsServerStartError } from './errors.js';

/** How long a stopped server may take to exit cleanly before it is killed. */
const DEFAULT_GRACE_MS = 5_000;

/** A nats-server child process with JetStream, listening on loopback on free ports. */
export interface NatsServerHandle {
  /** Client URL, e.g. nats://127.0.0.1:41234. */
  url: string;
  /** Monitoring URL, e.g. http://127.0.0.1:41235 (serves /jsz, /varz). */
  monitorUrl: string;
  pid: number;
  /**
   * Stops the server (SIGTERM, then SIGKILL after `graceMs`, 5 s by default) and waits for it
   * to exit.
   */
  stop(opts?: { graceMs?: number }): Promise<void>;
}

export interface StartNatsServerOptions {
  /** JetStream store directory; created if missing. */
  storeDir: string;
  /** Binary to run; defaults to `nats-server` on PATH. */
  binary?: string;
  /** Client port; a free one by default (a test restarting a server passes the old one). */
  port?: number;
  /** Called with each line the server logs (for debugging). */
  onLog?: (line: string) => void;
  /** How long the server may take to listen, not counting stream restores. Default 10 s. */
  startTimeoutMs?: number;
  /**
   * How long recovering the JetStream store may take: a server listens only once every stream
   * and consumer is recovered, and a log of millions of messages takes longer than
   * {@link startTimeoutMs} to read back (10–13 s for 2,000,000 events on 2 cores). Counted
   * from the server's `Starting JetStream`. Default 30 min.
   */
  restoreTimeoutMs?: number;
  /** Called when the server starts and finishes restoring a stream (to say why start waits). */
  onRestore?: (progress: StreamRestore) => void;
  /**
   * Appended to the command line; later flags win, so `-p 4222` here overrides the random
   * port. Clusters pass `-c FILE` (server name, routes) and fixed ports so a restart rejoins.
   */
  extraArgs?: string[];
}

/** A stream restore the server logged: started, or done with its message count. */
export type StreamRestore =
  { stream: string; done: false } | { stream: string; done: true; messages: number };

/**
 * The stream restore a nats-server log line reports, if any (2.9's `Starting restore for
 * stream '$G > NAME'` and `Restored 2,000,000 messages for stream '$G > NAME'`). Pure.
 */
export function streamRestoreOf(line: string): StreamRestore | null {
  const started = /Starting restore for stream '(?:[^>']*> )?([^']+)'/.exec(line);
  if (started) return { stream: started[1]!, done: false };
  const done = /Restored ([\d,]+) messages for stream '(?:[^>']*> )?([^']+)'/.exec(line);
  if (done) return { stream: done[2]!, done: true, messages: Number(done[1]!.replace(/,/g, '')) };
  return null;
}

/**
 * Starts nats-server with JetStream on random loopback ports (`-p -1 -m -1`) and learns the
 * chosen ports from the ports file it writes, so parallel tests never collide.
 */
export async function startNatsServer(opts: StartNatsServerOptions): Promise<NatsServerHandle> {
  await mkdir(opts.storeDir, { recursive: true });
  const portsDir = await mkdtemp(join(tmpdir(), 'conform-nats-ports-'));
  const binary = opts.binary ?? 'nats-server';
  const port = String(opts.port ?? -1);
  const args = ['-js', '-sd', opts.storeDir, '-a', '127.0.0.1', '-p', port, '-m', '-1'];
  args.push('--ports_file_dir', portsDir, ...(opts.extraArgs ?? []));
  let child: ReturnType<typeof runServer>;
  try {
    child = runServer(binary, args);
  } catch (err) {
    throw new NatsServerStartError(`could not run ${binary}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  // The watchdog: nats-server has no "exit with my parent" flag, and neither execa nor Node can
  // act once this process is SIGKILLed (no code of ours runs then), so a tiny shell sits beside
  // it reading a pipe only this process holds open. When we die in any way (SIGKILL, OOM killer),
  // the kernel closes our end, `read` returns and the shell stops the server: no orphan is left
  // writing the store. A clean stop kills the watchdog first, then stops the server itself.
  const watchdog = child.pid ? startWatchdog(child.pid) : null;
  const output: string[] = [];
  // Set once the server logs `Starting JetStream`: from then on it is reading its store back
  // (streams, then consumers) before it listens, which takes as long as the store is large.
  let recoveringSince: number | null = null;
  // One collector per pipe: a chunk may end mid-line, so the tail waits for the next chunk.
  const collector = () => {
    let partial = '';
    return (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines.filter(Boolean)) onLine(line);
    };
  };
  const onLine = (line: string) => {
    if (output.length < 200) output.push(line);
    opts.onLog?.(line);
    if (recoveringSince === null && /Starting JetStream/.test(line)) recoveringSince = Date.now();
    const restore = streamRestoreOf(line);
    if (restore) opts.onRestore?.(restore);
  };
  child.stdout?.on('data', collector());
  child.stderr?.on('data', collector());
  let spawnError: Error | null = null;
  let exited = false;
  child.once('error', (err) => (spawnError = err));
  const exitPromise = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );

  const startedAt = Date.now();
  const startTimeoutMs = opts.startTimeoutMs ?? 10_000;
  const restoreTimeoutMs = opts.restoreTimeoutMs ?? 30 * 60_000;
  try {
    for (;;) {
      const now = Date.now();
      if (recoveringSince === null && now - startedAt >= startTimeoutMs) {
        throw new NatsServerStartError(
          `nats-server did not become ready within ${startTimeoutMs} ms`,
        );
      }
      if (recoveringSince !== null && now - recoveringSince >= restoreTimeoutMs) {
        throw new NatsServerStartError(
          `nats-server was still recovering its JetStream store ${opts.storeDir} after ${Math.round((now - recoveringSince) / 1000)} s`,
        );
      }
      if (spawnError) {
        const hint =
          (spawnError as NodeJS.ErrnoException).code === 'ENOENT'
            ? ` (install it: apt-get install nats-server)`
            : '';
        throw new NatsServerStartError(`could not run ${binary}: ${String(spawnError)}${hint}`, {
          cause: spawnError,
        });
      }
      if (exited) {
        throw new NatsServerStartError(
          `nats-server exited during start-up:\n${output.slice(-20).join('\n')}`,
        );
      }
      const ports = await readPortsFile(portsDir, child.pid);
      if (ports) {
        const stop = async (stopOpts?: { graceMs?: number }) => {
          watchdog?.disarm();
          if (!exited) {
            // execa sends SIGKILL after DEFAULT_GRACE_MS; a forced stop asks for less.
            child.kill('SIGTERM');
            const graceMs = stopOpts?.graceMs ?? DEFAULT_GRACE_MS;
            if (graceMs < DEFAULT_GRACE_MS) {
              const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
              await exitPromise;
              clearTimeout(timer);
            }
            await exitPromise;
          }
          await rm(portsDir, { recursive: true, force: true });
        };
        return { url: ports.nats, monitorUrl: ports.monitoring, pid: child.pid ?? -1, stop };
      }
      await sleep(25);
    }
  } catch (err) {
    watchdog?.disarm();
    if (!exited) child.kill('SIGKILL');
    await rm(portsDir, { recursive: true, force: true });
    throw err;
  }
}

function runServer(binary: string, args: string[]) {
  return execa(binary, args, {
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    // The lines are read below as they come; nothing is kept by execa.
    buffer: false,
    // Start-up failures and exits are watched through the child's events, not a rejection.
    reject: false,
    // Its own process group: Ctrl-C in a terminal signals the whole foreground group, and the
    // server must outlive our clean shutdown (final acks, naks) rather than vanish first. A
    // detached child is also left out of execa's `cleanup` (kill on our exit), which could not
    // cover SIGKILL anyway: the watchdog below does.
    detached: true,
    // stop(): SIGTERM, then SIGKILL if the server has not exited after this long.
    forceKillAfterDelay: DEFAULT_GRACE_MS,
  });
}

async function readPortsFile(
  dir: string,
  pid: number | undefined,
): Promise<{ nats: string; monitoring: string } | null> {
  const files = await readdir(dir).catch(() => [] as string[]);
  const name = files.find((f) => f === `nats-server_${pid}.ports`);
  if (!name) return null;
  try {
    const parsed = JSON.parse(await readFile(join(dir, name), 'utf8')) as {
      nats?: string[];
      monitoring?: string[];
    };
    const nats = parsed.nats?.[0];
    const monitoring = parsed.monitoring?.[0];
    return nats && monitoring ? { nats, monitoring } : null;
  } catch {
    return null; // written but not complete yet
  }
}

/** How long the watchdog gives an orphaned server to shut down cleanly before SIGKILL. */
const WATCHDOG_GRACE_TENTHS = 50;
const WATCHDOG_SCRIPT = [
  'read _ignored',
  'kill -TERM "$1" 2>/dev/null',
  'i=0',
  `while kill -0 "$1" 2>/dev/null && [ "$i" -lt ${WATCHDOG_GRACE_TENTHS} ]; do sleep 0.1; i=$((i+1)); done`,
  'kill -KILL "$1" 2>/dev/null',
].join('\n');

/**
 * Starts the shell that stops `pid` once our end of its stdin closes. It runs in its own
 * session (like the server) so a terminal's Ctrl-C reaches neither; Node opens the pipe
 * close-on-exec, so no other child (ffmpeg) inherits our end and keeps it open.
 */
function startWatchdog(pid: number): { disarm(): void } {
  // A bare spawn, not execa: nothing of this child may be awaited or keep the event loop alive
  // (the child and its pipe are unref'd), and it is only ever SIGKILLed.
  const shell = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, 'conform-nats-watchdog', String(pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  shell.on('error', () => undefined); // no /bin/sh: the server still runs, just unguarded
  shell.stdin?.on('error', () => undefined);
  // Neither the shell nor its pipe may keep the event loop (and so conform) alive.
  shell.unref();
  (shell.stdin as unknown as { _handle?: { unref(): void } } | null)?._handle?.unref();
  return {
    disarm: () => {
      if (shell.exitCode === null && shell.signalCode === null) shell.kill('SIGKILL');
    },
  };
}
