// Runs short-lived tools (the per-file ffprobe) from a small long-lived helper process rather
// than from conform itself. Starting a process from Node forks the whole parent first, on the
// main thread: from `conform up` (a few hundred MB, with every service in it) that cost about
// 6 ms of the event loop per ffprobe, so a first scan of 100,000 files spent minutes of its
// main thread in `ChildProcess.spawn`. The helper is a bare Node process (no conform modules
// loaded, a small heap), so its forks are cheap and happen off conform's event loop.
//
// The same module is the helper: forked with this file as its entry point, it serves requests
// over the IPC channel. When the helper cannot be started or dies, a request runs directly
// (execa) as before, so a probe is never lost to the helper.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { lowerThisThread, PROBE_NICENESS } from './priority.js';

/** What a finished tool run gives back: the fields of execa's result that callers read. */
export interface ToolResult {
  /** The spawn error's code (`ENOENT` when the tool is not installed); undefined when it ran. */
  code?: string;
  exitCode?: number;
  signal?: string;
  stdout: string;
  stderr: string;
  /** Exited non-zero, by a signal, did not start, or was cancelled. */
  failed: boolean;
  isCanceled: boolean;
}

/** Options of {@link runTool}. */
export interface RunToolOptions {
  signal?: AbortSignal;
  /** After a cancel's SIGTERM, SIGKILL if the tool is still running. Default 2000. */
  forceKillAfterDelay?: number;
}

/** Output kept of each stream; more kills the tool (as execa's maxBuffer does). */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
// A helper that keeps dying (killed by the OOM killer, say) is not started again after this.
const MAX_HELPER_STARTS = 5;
// The helper's own heap: it holds one tool's output per run in flight, nothing else.
const HELPER_HEAP_MB = 64;

type Request =
  | { id: number; file: string; args: string[]; path: string | undefined }
  | { kill: number; afterMs: number };
type Reply = { id: number; result: ToolResult };

interface Pending {
  file: string;
  args: string[];
  opts: RunToolOptions;
  resolve: (r: ToolResult) => void;
  onAbort?: () => void;
}

const self = fileURLToPath(import.meta.url);

class Spawner {
  private child: ChildProcess | null = null;
  /** Helpers lost so far; past {@link MAX_HELPER_STARTS} every run is direct. */
  private starts = 0;
  private next = 1;
  private readonly pending = new Map<number, Pending>();

  async run(file: string, args: string[], opts: RunToolOptions): Promise<ToolResult> {
    if (opts.signal?.aborted) return canceled();
    const child = this.helper();
    if (!child) return runDirectly(file, args, opts);
    const id = this.next++;
    return new Promise<ToolResult>((resolve) => {
      const entry: Pending = { file, args, opts, resolve };
      if (opts.signal) {
        entry.onAbort = () => this.send({ kill: id, afterMs: opts.forceKillAfterDelay ?? 2_000 });
        opts.signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.pending.set(id, entry);
      this.refChild(true);
      // The tool is looked up on this process's PATH as it is now, as a direct spawn would.
      if (!this.send({ id, file, args, path: process.env.PATH })) this.lost(child);
    });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private helper(): ChildProcess | null {
    if (this.child || this.starts >= MAX_HELPER_STARTS) return this.child;
    this.starts++;
    let child: ChildProcess;
    try {
      child = fork(self, [], {
        // Not conform's own flags (a profiler, a heap limit sized for conform), only a small heap.
        execArgv: [`--max-old-space-size=${HELPER_HEAP_MB}`],
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        serialization: 'advanced',
      });
    } catch {
      this.starts = MAX_HELPER_STARTS;
      return null;
    }
    child.on('message', (m: Reply) => this.settle(m));
    child.on('error', () => this.lost(child));
    child.on('exit', () => this.lost(child));
    this.child = child;
    this.refChild(false);
    return child;
  }

  private settle(reply: Reply): void {
    const entry = this.pending.get(reply.id);
    if (!entry) return;
    this.pending.delete(reply.id);
    if (entry.onAbort) entry.opts.signal?.removeEventListener('abort', entry.onAbort);
    const { result } = reply;
    entry.resolve(
      entry.opts.signal?.aborted ? { ...result, failed: true, isCanceled: true } : result,
    );
    if (this.pending.size === 0) this.refChild(false);
  }

  private send(request: Request): boolean {
    try {
      if (!this.child?.connected) return false;
      this.child.send(request);
      return true;
    } catch {
      return false;
    }
  }

  /** The helper is gone: what it was running runs directly; the next run starts another. */
  private lost(child: ChildProcess): void {
    if (this.child !== child) return;
    this.child = null;
    this.rescue();
  }

  private rescue(): void {
    const entries = [...this.pending.values()];
    this.pending.clear();
    for (const e of entries) {
      if (e.onAbort) e.opts.signal?.removeEventListener('abort', e.onAbort);
      void runDirectly(e.file, e.args, e.opts).then(e.resolve, (err: Error) =>
        e.resolve({ stdout: '', stderr: err.message, failed: true, isCanceled: false }),
      );
    }
  }

  // An idle helper must not keep conform (or a test) running; it exits with its parent.
  private refChild(busy: boolean): void {
    const child = this.child as
      (ChildProcess & { channel?: { ref(): void; unref(): void } }) | null;
    if (!child) return;
    if (busy) {
      child.ref();
      child.channel?.ref();
    } else {
      child.unref();
      child.channel?.unref();
    }
  }
}

let shared: Spawner | null = null;

/** The helper process's pid while it runs (for tests and diagnostics). */
export function toolHelperPid(): number | undefined {
  return shared?.pid;
}

/**
 * Runs `file args` (stdin ignored, stdout and stderr collected as text) in the helper process,
 * never rejecting: a tool that is missing, fails or is cancelled is described by the result.
 */
export function runTool(
  file: string,
  args: string[],
  opts: RunToolOptions = {},
): Promise<ToolResult> {
  shared ??= new Spawner();
  return shared.run(file, args, opts);
}

function canceled(): ToolResult {
  return { stdout: '', stderr: '', failed: true, isCanceled: true };
}

/** The fallback: the same run from this process, through execa. */
async function runDirectly(
  file: string,
  args: string[],
  opts: RunToolOptions,
): Promise<ToolResult> {
  const { execa } = await import('execa');
  const r = await execa(file, args, {
    reject: false,
    stdin: 'ignore',
    cancelSignal: opts.signal,
    forceKillAfterDelay: opts.forceKillAfterDelay ?? 2_000,
    maxBuffer: MAX_OUTPUT_BYTES,
  });
  return {
    ...(r.code ? { code: r.code } : {}),
    ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}),
    ...(r.signal ? { signal: r.signal } : {}),
    stdout: String(r.stdout),
    stderr: String(r.stderr),
    failed: r.failed,
    isCanceled: r.isCanceled,
  };
}

// ---- the helper process ----

function serve(): void {
  // Every tool forked from here inherits it: ffprobe yields to conform's main thread.
  lowerThisThread(PROBE_NICENESS);
  const running = new Map<number, ChildProcess>();
  const reply = (m: Reply) => {
    if (process.connected) process.send!(m);
  };
  process.on('message', (m: Request) => {
    if ('kill' in m) {
      const child = running.get(m.kill);
      if (!child) return;
      child.kill('SIGTERM');
      setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), m.afterMs).unref();
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let bytes = 0;
    let spawnError: string | undefined;
    const env = m.path === process.env.PATH ? process.env : withPath(m.path);
    const child = spawn(m.file, m.args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    running.set(m.id, child);
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > MAX_OUTPUT_BYTES) child.kill('SIGKILL');
      else into.push(chunk);
    };
    child.stdout!.on('data', collect(out));
    child.stderr!.on('data', collect(err));
    child.on('error', (e: NodeJS.ErrnoException) => (spawnError = e.code ?? 'ESPAWN'));
    child.on('close', (exitCode: number | null, signal: NodeJS.Signals | null) => {
      running.delete(m.id);
      reply({
        id: m.id,
        result: {
          // As execa: no exit code for a tool that did not start, one final newline stripped.
          ...(spawnError ? { code: spawnError } : exitCode !== null ? { exitCode } : {}),
          ...(signal ? { signal } : {}),
          stdout: text(out),
          stderr: text(err),
          failed: spawnError !== undefined || exitCode !== 0,
          isCanceled: false,
        },
      });
    });
  });
  // conform exited or closed the channel: nothing is waiting for what runs here any more.
  process.on('disconnect', () => {
    for (const child of running.values()) child.kill('SIGKILL');
    process.exit(0);
  });
}

function withPath(path: string | undefined): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (path === undefined) delete env.PATH;
  else env.PATH = path;
  return env;
}

function text(chunks: Buffer[]): string {
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

if (process.argv[1] === self && process.send) serve();
