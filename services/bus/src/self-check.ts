import { constants } from 'node:fs';
import { access, mkdir, open, rename, rm, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { assertNever } from '@conform/contracts';
import { BusError } from './errors.js';
import { PathMap } from './path-map.js';

/** What a node does with a library, which decides what it must be able to do there. */
export type NodeRole = 'encoder' | 'verifier' | 'archiver';

/** A library as configured (canonical paths) on every node. */
export interface CheckedLibrary {
  root: string;
  /** Where originals go; the archiver writes there. */
  archive?: string;
}

/** One thing to verify at start, in this node's paths. Pure data: see {@link planSelfCheck}. */
export type SelfCheckStep =
  | { kind: 'readable-dir'; path: string; canonical: string }
  /** `create`: made if missing (an archive is created on first use anyway). */
  | { kind: 'writable-dir'; path: string; canonical: string; create?: boolean }
  /** create + write + fsync + rename inside `workDir`, then rename across into `root`. */
  | { kind: 'atomic-rename'; workDir: string; root: string; canonical: string }
  | { kind: 'free-space'; path: string; canonical: string; minFreeBytes: number };

/** The library, archive or work directory a node cannot use, and why. */
export class SelfCheckError extends BusError {
  readonly path: string;
  readonly canonical: string;
  readonly mapping: string;
  constructor(step: SelfCheckStep, map: PathMap, why: string, cause?: unknown) {
    const path = step.kind === 'atomic-rename' ? step.workDir : step.path;
    const seen =
      path === step.canonical
        ? path
        : `${step.canonical} (seen here as ${path} through --path-map ${map.describe(step.canonical)})`;
    super('SELF_CHECK', `start-up check failed for ${seen}: ${why}; this node pulls no work`, {
      cause,
    });
    this.name = 'SelfCheckError';
    this.path = path;
    this.canonical = step.canonical;
    this.mapping = map.describe(step.canonical);
  }
}

/**
 * Every check a node of `role` needs before it pulls work: each library readable (all), the
 * work directory writable with an atomic rename into the library — the swap depends on one
 * filesystem — and free space (encoder, archiver), the archive writable (archiver). Pure.
 */
export function planSelfCheck(opts: {
  role: NodeRole;
  libraries: readonly CheckedLibrary[];
  map?: PathMap;
  workDirName: string;
  minFreeBytes?: number;
}): SelfCheckStep[] {
  const map = opts.map ?? new PathMap();
  const steps: SelfCheckStep[] = [];
  for (const lib of opts.libraries) {
    const canonical = lib.root;
    const root = map.toLocal(lib.root);
    steps.push({ kind: 'readable-dir', path: root, canonical });
    if (opts.role === 'verifier') continue;
    steps.push({ kind: 'writable-dir', path: root, canonical });
    steps.push({
      kind: 'atomic-rename',
      workDir: join(root, opts.workDirName),
      root,
      canonical: join(canonical, opts.workDirName),
    });
    if (opts.minFreeBytes) {
      steps.push({ kind: 'free-space', path: root, canonical, minFreeBytes: opts.minFreeBytes });
    }
    if (opts.role === 'archiver' && lib.archive && lib.archive !== lib.root) {
      steps.push({
        kind: 'writable-dir',
        path: map.toLocal(lib.archive),
        canonical: lib.archive,
        create: true,
      });
    }
  }
  return steps;
}

/** Runs the steps in order; the first failure throws a {@link SelfCheckError}. */
export async function runSelfCheck(
  steps: readonly SelfCheckStep[],
  opts: { map?: PathMap; node: string },
): Promise<void> {
  const map = opts.map ?? new PathMap();
  for (const step of steps) await runStep(step, map, opts.node);
}

async function runStep(step: SelfCheckStep, map: PathMap, node: string): Promise<void> {
  const fail = (why: string, err?: unknown): never => {
    throw new SelfCheckError(step, map, why, err);
  };
  const code = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  switch (step.kind) {
    case 'readable-dir':
    case 'writable-dir': {
      if (step.kind === 'writable-dir' && step.create) {
        await mkdir(step.path, { recursive: true }).catch((err: unknown) =>
          fail(`cannot create it (${code(err)})`, err),
        );
      }
      const s = await stat(step.path).catch((err: unknown) =>
        fail(`not reachable (${code(err)}); is it mounted?`, err),
      );
      if (!s.isDirectory()) fail('not a directory');
      const mode =
        step.kind === 'readable-dir'
          ? constants.R_OK | constants.X_OK
          : constants.R_OK | constants.W_OK | constants.X_OK;
      await access(step.path, mode).catch((err: unknown) =>
        fail(`not ${step.kind === 'readable-dir' ? 'readable' : 'writable'} (${code(err)})`, err),
      );
      return;
    }
    case 'atomic-rename': {
      const tag = `.conform-selfcheck-${node.replace(/[^A-Za-z0-9_-]/g, '_')}-${process.pid}`;
      const first = join(step.workDir, `${tag}.partial`);
      const second = join(step.workDir, tag);
      const inLibrary = join(step.root, tag);
      try {
        await mkdir(step.workDir, { recursive: true }).catch((err: unknown) =>
          fail(`cannot create the work directory (${code(err)})`, err),
        );
        const file = await open(first, 'w').catch((err: unknown) =>
          fail(`cannot create a file in the work directory (${code(err)})`, err),
        );
        try {
          await file.writeFile('conform self-check\n');
          await file.sync();
        } catch (err) {
          fail(`cannot write and fsync a file in the work directory (${code(err)})`, err);
        } finally {
          await file.close();
        }
        await rename(first, second).catch((err: unknown) =>
          fail(`cannot rename inside the work directory (${code(err)})`, err),
        );
        await rename(second, inLibrary).catch((err: unknown) =>
          fail(
            code(err) === 'EXDEV'
              ? `the work directory is on another filesystem than the library ${step.root} ` +
                  `(EXDEV): the swap must be one atomic rename, so both must be one mount`
              : `cannot rename from the work directory into the library ${step.root} (${code(err)})`,
            err,
          ),
        );
        const dir = await open(step.root, 'r');
        await dir.sync().finally(() => dir.close());
      } finally {
        await Promise.all([first, second, inLibrary].map((p) => rm(p, { force: true })));
      }
      return;
    }
    case 'free-space': {
      const fs = await statfs(step.path).catch((err: unknown) =>
        fail(`cannot read free space (${code(err)})`, err),
      );
      const free = fs.bavail * fs.bsize;
      if (free < step.minFreeBytes) {
        fail(`only ${free} bytes free, at least ${step.minFreeBytes} needed to start`);
      }
      return;
    }
    default:
      assertNever(step, 'self-check step');
  }
}
