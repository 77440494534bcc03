import { setFlagsFromString } from 'node:v8';

// Imported first by bin.ts, before any other module allocates. V8 sizes its old generation by
// the machine's memory (a heap limit of about 4 GiB on a 24 GiB box) and lets garbage pile up
// accordingly: `conform up` over 100,000 files peaked at 416 MB resident while what it keeps is
// well under half of that. Heap limits can only be set when the process starts, but the growing
// factor V8 applies after each full collection is read at run time, so conform sets that for
// itself: a user gets the smaller footprint without heap flags (docs/benchmarks/discovery.md has
// the figures). A user's own setting (command line or NODE_OPTIONS) wins.

/** Growth of the old generation after a full GC, in percent (V8's default adapts, up to 100+). */
export const HEAP_GROWING_PERCENT = 40;

/** The V8 flag conform sets for itself, or null when the user already chose one. */
export function heapFlag(
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): string | null {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  if (given.some((a) => /^--heap[-_]growing[-_]percent\b/.test(a))) return null;
  return `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
}

const flag = heapFlag(process.execArgv, process.env.NODE_OPTIONS);
if (flag) setFlagsFromString(flag);

/** Where conform's `#!` line records the caller's MALLOC_ARENA_MAX before setting its own. */
export const CALLER_ARENAS_VARIABLE = 'CONFORM_CALLER_MALLOC_ARENA_MAX';

/**
 * Gives conform's children (ffmpeg, ffprobe, nats-server, the probe helper) the caller's
 * MALLOC_ARENA_MAX rather than the two arenas of the `#!` line: those suit conform's own
 * process, and a many-threaded encode gets what the user chose, or glibc's default. glibc read
 * the variable when this process started, so conform itself keeps its two. Run any other way
 * (no recorded value), nothing changes. `env -S` records an unset variable as empty. Mutates
 * `env`.
 */
export function restoreCallerArenas(env: NodeJS.ProcessEnv): void {
  if (!(CALLER_ARENAS_VARIABLE in env)) return;
  const caller = env[CALLER_ARENAS_VARIABLE];
  delete env[CALLER_ARENAS_VARIABLE];
  if (caller) env.MALLOC_ARENA_MAX = caller;
  else delete env.MALLOC_ARENA_MAX;
}

restoreCallerArenas(process.env);
