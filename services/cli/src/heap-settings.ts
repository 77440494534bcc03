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
