// Test-only: performs one swap step by step and dies by SIGKILL at a chosen point, so
// crash.test.ts can check what a real process death leaves on disk. `node --test` also runs
// this file (it lives in test/); without an argument it does nothing.
import { statSync, writeSync } from 'node:fs';
import type { EventEnvelope } from '@conform/contracts';
import {
  PARTIAL_SUFFIX,
  applySwapStep,
  observeSwap,
  planSwap,
  realFs,
  resolveSwapPaths,
  type ArchiverLibrary,
  type SwapFs,
} from '../src/index.js';

/** Where the child dies. */
export type KillPoint =
  /** After this many plan steps (0: planned, nothing applied yet). */
  | { afterStep: number }
  /** Just before the n-th filesystem change (1-based), inside whichever step makes it. */
  | { beforeCall: number }
  /** While the cross-filesystem copy into the archive is under way. */
  | { midCopy: true };

export interface CrashChildArgs {
  event: EventEnvelope<'verify.passed'>;
  libraries: ArchiverLibrary[];
  kill: KillPoint;
}

/** What the child reports on stdout before it runs anything, one JSON line. */
export interface CrashChildReport {
  steps: string[];
}

function die(): never {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable: SIGKILL did not end the process');
}

const MUTATING = ['mkdir', 'link', 'copyFile', 'utimes', 'rename', 'unlink'] as const;

function killingFs(kill: KillPoint): SwapFs {
  const wrapped: Record<string, unknown> = { ...realFs };
  let calls = 0;
  for (const name of MUTATING) {
    const real = realFs[name] as (...args: unknown[]) => Promise<unknown>;
    wrapped[name] = async (...args: unknown[]) => {
      if ('beforeCall' in kill && ++calls === kill.beforeCall) die();
      if ('midCopy' in kill && name === 'copyFile') {
        const dest = String(args[1]);
        const copying = real(...args);
        // copyFile runs on the thread pool; watch the partial grow from this thread and die
        // as soon as it holds some but not all of the bytes (or once the copy returns).
        const total = statSync(String(args[0])).size;
        for (;;) {
          const size = sizeOrZero(dest);
          if (size > 0 && size < total) die();
          if (await settledWithin(copying)) die();
        }
      }
      return real(...args);
    };
  }
  return wrapped as unknown as SwapFs;
}

function sizeOrZero(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

async function settledWithin(p: Promise<unknown>): Promise<boolean> {
  const tick = new Promise<false>((r) => setImmediate(() => r(false)));
  return Promise.race([p.then(() => true), tick]);
}

async function main(args: CrashChildArgs): Promise<void> {
  const resolved = resolveSwapPaths(args.event.data, args.libraries);
  if (!resolved.ok) throw new Error(resolved.reason);
  const source = args.event.data.source;
  const fs = killingFs(args.kill);
  const observed = await observeSwap(resolved.paths, source, fs);
  const { paths } = observed;
  const plan = planSwap(observed);
  const report: CrashChildReport = { steps: plan.steps.map((s) => s.kind) };
  writeSync(1, JSON.stringify(report) + '\n');
  if (plan.outcome.kind !== 'replaced') throw new Error(`unexpected plan: ${plan.outcome.reason}`);
  for (let done = 0; ; done++) {
    if ('afterStep' in args.kill && args.kill.afterStep === done) die();
    const step = plan.steps[done];
    if (!step) break;
    await applySwapStep(step, paths, source, fs);
  }
  if (sizeOrZero(paths.archivePath + PARTIAL_SUFFIX) > 0) throw new Error('partial left behind');
}

const arg = process.argv[2];
if (arg) await main(JSON.parse(arg) as CrashChildArgs);
