// Runs short-lived tools (the per-file ffprobe) from a small long-lived helper process rather
// than from conform itself. Starting a process from Node forks the whole parent first, on the
// main thread: from `conform up` (a few hundred MB, with every service in it) that cost about
// 6 ms of the event loop per ffprobe, so a first scan of 100,000 files spent minutes of its
// main thread in `ChildProcess.spawn`. The helper is a bare Node process (no conform modules
// loaded, a small heap), so its forks are cheap and happen off conform's event loop.
//
// The same module is the helper: forked with this file as its entry point, it serves requests
// over the IPC channel. When the helper cannot be started or dies, a request runs directly
// from this process as before, so a probe is never lost to the helper. There is one helper per
// niceness asked for: a process's nice value is inherited by what it starts and cannot be
// raised again, so the planner's probes (at PROBE_NICENESS) and the verifier's tools (at
// conform's own priority) run from helpers of their own.
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
  /** After a cancel's SIGTERM, SIGKILL if the tool is still running; 0 kills at once. Default 2000. */
  forceKillAfterDelay?: number;
  /**
   * The tool's niceness: {@link PROBE_NICENESS} unless said; 0 runs it at this process's own
   * priority (the verifier's decode, which encodes at niceness 19 yield to).
   */
  niceness?: number;
  /**
   * What a long stderr becomes: `cap` (the default) kills the tool once its output passes
   * 64 MiB, as execa's maxBuffer does; `elide` keeps the first 64 KiB and the last 8 KiB with
   * `[...]` between and lets the tool run on, its stdout kept whole (a decode of a corrupt file
   * can log millions of error lines and must still finish; its verdict needs only the first and
   * last).
   */
  stderr?: StderrMode;
}

/** How {@link runTool} keeps a long stderr (see {@link RunToolOptions.stderr}). */
export type StderrMode = 'cap' | 'elide';

/** Output kept of each stream; more kills the tool (as execa's maxBuffer does). */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
/** What `elide` keeps of a long stderr: its head and its tail. */
const STDERR_HEAD = 64 * 1024;
const STDERR_TAIL = 8 * 1024;
// A helper that keeps dying (killed by the OOM killer, say) is not started again after this.
const MAX_HELPER_STARTS = 5;
// The helper's own heap: it holds one tool's output per run in flight, nothing else.
const HELPER_HEAP_MB = 64;

type Request =
  | { id: number; file: string; args: string[]; path: string | undefined; stderr: StderrMode }
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
  /** @param niceness what the helper lowers itself to (0: this process's priority). */
  constructor(private readonly niceness: number) {}

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
      const stderr = opts.stderr ?? 'cap';
      if (!this.send({ id, file, args, path: process.env.PATH, stderr })) this.lost(child);
    });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the helper now, if it is not running, so that the first run does not wait for it. */
  warm(): void {
    this.helper();
  }

  private helper(): ChildProcess | null {
    if (this.child || this.starts >= MAX_HELPER_STARTS) return this.child;
    this.starts++;
    let child: ChildProcess;
    try {
      child = fork(self, [String(this.niceness)], {
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

/** The helpers by niceness, each started at its first run. */
const helpers = new Map<number, Spawner>();

/** The pid of the helper running tools at `niceness` while it runs (for tests and diagnostics). */
export function toolHelperPid(niceness: number = PROBE_NICENESS): number | undefined {
  return helpers.get(niceness)?.pid;
}

/**
 * Starts the helper of `niceness` ahead of its first run (Node's start-up, about 0.1 s of CPU and
 * more of wall time on a busy machine, is then not paid by that run). It does not keep this
 * process alive while idle.
 */
export function startToolHelper(niceness: number = PROBE_NICENESS): void {
  spawnerFor(niceness).warm();
}

/**
 * Runs `file args` (stdin ignored, stdout and stderr collected as text) in the helper process
 * of its niceness, never rejecting: a tool that is missing, fails or is cancelled is described
 * by the result.
 */
export function runTool(
  file: string,
  args: string[],
  opts: RunToolOptions = {},
): Promise<ToolResult> {
  return spawnerFor(opts.niceness ?? PROBE_NICENESS).run(file, args, opts);
}

function spawnerFor(niceness: number): Spawner {
  let spawner = helpers.get(niceness);
  if (!spawner) {
    spawner = new Spawner(niceness);
    helpers.set(niceness, spawner);
  }
  return spawner;
}

function canceled(): ToolResult {
  return { stdout: '', stderr: '', failed: true, isCanceled: true };
}

/**
 * The fallback: the same run from this process, at its own priority (lowering the one thread
 * that spawns would race this process's other work; the fallback is rare).
 */
async function runDirectly(
  file: string,
  args: string[],
  opts: RunToolOptions,
): Promise<ToolResult> {
  const run = start(file, args, process.env, opts.stderr ?? 'cap');
  let canceled = false;
  const onAbort = () => {
    canceled = true;
    stop(run.child, opts.forceKillAfterDelay ?? 2_000);
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const result = await run.done;
  opts.signal?.removeEventListener('abort', onAbort);
  return canceled ? { ...result, failed: true, isCanceled: true } : result;
}

/** SIGTERM, then SIGKILL after `afterMs` if it still runs; SIGKILL at once for 0. */
function stop(child: ChildProcess, afterMs: number): void {
  if (afterMs <= 0) {
    child.kill('SIGKILL');
    return;
  }
  child.kill('SIGTERM');
  setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), afterMs).unref();
}

/**
 * Starts one tool and collects its output as `mode` says (`cap`: past
 * {@link MAX_OUTPUT_BYTES} of both the tool is killed). Resolves when it has exited, as execa would describe
 * it: no exit code for a tool that did not start, one final newline stripped.
 */
function start(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  mode: StderrMode,
): { child: ChildProcess; done: Promise<ToolResult> } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let bytes = 0;
  let spawnError: string | undefined;
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  // `elide` runs to the end whatever they print: a full decode's or demux's output grows with
  // the file, and cutting a verification short would fail it.
  const collect = (into: Buffer[]) => (chunk: Buffer) => {
    bytes += chunk.length;
    if (mode === 'cap' && bytes > MAX_OUTPUT_BYTES) child.kill('SIGKILL');
    else into.push(chunk);
  };
  child.stdout!.on('data', collect(out));
  const elided = mode === 'elide' ? elider(child) : null;
  if (!elided) child.stderr!.on('data', collect(err));
  child.on('error', (e: NodeJS.ErrnoException) => (spawnError = e.code ?? 'ESPAWN'));
  const done = new Promise<ToolResult>((resolve) => {
    child.on('close', (exitCode: number | null, signal: NodeJS.Signals | null) => {
      resolve({
        ...(spawnError ? { code: spawnError } : exitCode !== null ? { exitCode } : {}),
        ...(signal ? { signal } : {}),
        stdout: text(out),
        stderr: elided ? elided().replace(/\r?\n$/, '') : text(err),
        failed: spawnError !== undefined || exitCode !== 0,
        isCanceled: false,
      });
    });
  });
  return { child, done };
}

/** Keeps the head and tail of a child's stderr; what it kept, `[...]` marking a cut. */
function elider(child: ChildProcess): () => string {
  let head = '';
  let tail = '';
  let cut = false;
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    if (head.length < STDERR_HEAD) {
      head += d;
      return;
    }
    tail = (tail + d).slice(-STDERR_TAIL);
    cut = true;
  });
  return () => (cut ? `${head}\n[...]\n${tail}` : head);
}

// ---- the helper process ----

function serve(niceness: number): void {
  // Every tool forked from here inherits it (PROBE_NICENESS: ffprobe yields to conform's main
  // thread); 0 keeps conform's own.
  if (niceness > 0) lowerThisThread(niceness);
  const running = new Map<number, ChildProcess>();
  const reply = (m: Reply) => {
    if (process.connected) process.send!(m);
  };
  process.on('message', (m: Request) => {
    if ('kill' in m) {
      const child = running.get(m.kill);
      if (child) stop(child, m.afterMs);
      return;
    }
    const env = m.path === process.env.PATH ? process.env : withPath(m.path);
    const run = start(m.file, m.args, env, m.stderr);
    running.set(m.id, run.child);
    void run.done.then((result) => {
      running.delete(m.id);
      reply({ id: m.id, result });
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

if (process.argv[1] === self && process.send) serve(Number(process.argv[2] ?? PROBE_NICENESS));
