import { writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { FfmpegAbortedError, FfmpegFailedError, ToolMissingError } from './errors.js';
import { parseProgressBlock, ProgressLineReader, type FfmpegProgress } from './progress.js';

export interface RunFfmpegOptions {
  /**
   * Kills ffmpeg's whole process group (SIGTERM, SIGKILL 2 s later) and rejects with
   * {@link FfmpegAbortedError}.
   */
  signal?: AbortSignal;
  /** Input duration, to turn output time into a percentage. */
  durationSec?: number | null;
  onProgress?: (p: FfmpegProgress) => void;
  /** Program to run instead of `ffmpeg` on PATH (a wrapper script, a pinned build). */
  ffmpegPath?: string;
  /**
   * CPU niceness (0–19) to run ffmpeg at, through nice(1) so that every thread ffmpeg starts
   * inherits it (setpriority on the pid after the spawn would race the encoder's thread pool).
   * ffmpeg runs in a session of its own (see liveGroups), which Linux's autogroup scheduling
   * weighs as a whole against every other session whatever its threads' nice values, so the
   * session's autogroup is set to the same niceness ({@link niceAutogroup}).
   * 0 or absent: the caller's own priority.
   */
  niceness?: number;
  /**
   * Also runs ffmpeg under Linux's SCHED_IDLE policy (chrt(1), before nice(1), so every thread
   * inherits both): the kernel lets any other thread that wakes up take the core from it at
   * once, where at nice 19 alone a woken thread may wait out the encode's time slice. A
   * verification's decode beside an encode took 2.59 s with it against 2.66 s without and
   * 2.33 s with no encode (medians of 13 rounds, docs/benchmarks/e2e.md): a small gain. Only
   * where {@link idleSchedulingWorks}.
   */
  idle?: boolean;
}

/** The program and argument list {@link runFfmpeg} starts. Pure. */
export function ffmpegCommand(
  args: readonly string[],
  opts: Pick<RunFfmpegOptions, 'ffmpegPath' | 'niceness' | 'idle'> = {},
): { file: string; args: string[] } {
  const ffmpeg = opts.ffmpegPath ?? 'ffmpeg';
  const full = ['-progress', 'pipe:1', '-nostats', ...args];
  const niceness = opts.niceness ?? 0;
  const [file, ...rest] = [
    ...(opts.idle ? IDLE_COMMAND : []),
    ...(niceness > 0 ? ['nice', '-n', String(niceness)] : []),
    ffmpeg,
    ...full,
  ];
  return { file: file!, args: rest };
}

/** chrt(1) running the rest of the command line under SCHED_IDLE (its priority must be 0). */
const IDLE_COMMAND = ['chrt', '--idle', '0'];

// nice(1) exits 127 when it cannot find the program it was given (POSIX), and so does chrt(1).
const WRAPPER_NOT_FOUND_EXIT = 127;

let idleCheck: Promise<boolean> | null = null;

/**
 * Whether this machine runs a program under SCHED_IDLE through chrt(1): Linux with util-linux's
 * chrt (Debian's, the container's), and a policy the process may switch to (an unprivileged
 * one may, unless a seccomp profile forbids sched_setscheduler). Tried once, with `true`.
 */
export function idleSchedulingWorks(): Promise<boolean> {
  idleCheck ??=
    process.platform !== 'linux'
      ? Promise.resolve(false)
      : execa(IDLE_COMMAND[0]!, [...IDLE_COMMAND.slice(1), 'true'], { reject: false }).then(
          (r) => r.exitCode === 0,
          () => false,
        );
  return idleCheck;
}

const STDERR_TAIL_LINES = 20;
const FORCE_KILL_AFTER_MS = 2_000;

// Process groups of running ffmpegs: killed if this Node process exits first. ffmpeg runs in
// its own group so a wrapper (nice, a vendor script) dies with it, and so the terminal's
// Ctrl-C reaches only us: we decide when ffmpeg stops and clean up after it.
const liveGroups = new Set<number>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
  });
}

/**
 * Sets the niceness of the autogroup of `pid`'s session (Linux, `CONFIG_SCHED_AUTOGROUP`).
 * With autogroups on (most desktop kernels), CFS first shares the CPU between sessions and only
 * then between a session's threads by their nice values: a detached encode at nice 10 took half
 * of the CPU from the verification it was meant to yield to (measured: two nice-10 spinners in
 * a session of their own against two nice-0 spinners, 50/50 on one core; 10/90 with the
 * autogroup at 10). Raising a niceness needs no privilege; where there is no autogroup file
 * (autogroups compiled out, not Linux) the thread nice values are all there is.
 */
export function niceAutogroup(pid: number, niceness: number): void {
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(niceness));
  } catch {
    // No autogroup here, or the process already exited: nothing to weigh.
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Runs ffmpeg with `args` plus `-progress pipe:1 -nostats`, reporting progress as it goes.
 * Resolves when ffmpeg exits 0; otherwise rejects with {@link FfmpegFailedError} carrying the
 * last stderr lines. The promise settles only after the process has exited; an abort kills
 * its process group, and so does this Node process exiting first.
 */
export async function runFfmpeg(args: string[], opts: RunFfmpegOptions = {}): Promise<void> {
  if (opts.signal?.aborted) throw new FfmpegAbortedError({ cause: opts.signal.reason });
  installExitHook();
  const command = ffmpegCommand(args, opts);
  const child = execa(command.file, command.args, {
    reject: false,
    buffer: false,
    stdin: 'ignore',
    detached: true,
    cleanup: false,
  });
  const pid = child.pid;
  if (pid !== undefined) liveGroups.add(pid);
  if (pid !== undefined && (opts.niceness ?? 0) > 0) niceAutogroup(pid, opts.niceness ?? 0);
  let aborted = false;
  let forceKill: NodeJS.Timeout | undefined;
  const onAbort = () => {
    if (pid === undefined) return;
    aborted = true;
    killGroup(pid, 'SIGTERM');
    forceKill = setTimeout(() => killGroup(pid, 'SIGKILL'), FORCE_KILL_AFTER_MS);
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  const stderrTail: string[] = [];
  let stderrPartial = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    const lines = (stderrPartial + chunk).split(/\r?\n|\r/);
    stderrPartial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      stderrTail.push(line.trim());
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
    }
  });
  const reader = new ProgressLineReader((block) => {
    opts.onProgress?.(parseProgressBlock(block, opts.durationSec ?? null));
  });
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => reader.push(chunk));

  const result = await child;
  clearTimeout(forceKill);
  opts.signal?.removeEventListener('abort', onAbort);
  if (pid !== undefined) {
    // A wrapper's children may outlive the leader; the group goes with it.
    killGroup(pid, 'SIGKILL');
    liveGroups.delete(pid);
  }
  if (stderrPartial.trim()) stderrTail.push(stderrPartial.trim());
  if (result.code === 'ENOENT' && result.exitCode === undefined) {
    throw new ToolMissingError(command.file);
  }
  const program = opts.ffmpegPath ?? 'ffmpeg';
  // A wrapper (chrt, nice) ran: its 127 means it could not find ffmpeg.
  if (command.file !== program && result.exitCode === WRAPPER_NOT_FOUND_EXIT) {
    throw new ToolMissingError(program);
  }
  if (aborted) throw new FfmpegAbortedError({ cause: opts.signal?.reason });
  if (result.failed) {
    throw new FfmpegFailedError(result.exitCode ?? null, stderrTail.slice(-STDERR_TAIL_LINES));
  }
}
