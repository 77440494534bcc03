// `conform restore`: resolve the paths, observe the disk, plan the steps (pure) and apply them,
// the same read → plan → apply shape as the swap. One job — putting an original back — whose
// plan must cover every state a half-finished earlier restore can leave, hence its length.
import { dirname, extname, join, resolve } from 'node:path';
import {
  assertNever,
  type DomainEventOf,
  type FileReplacedData,
  relativeInside,
  WORK_DIR_NAME,
} from '@conform/contracts';
import { durableRename, fsyncPath } from '@conform/bus';
import { copyVerified, factsOf, realFs, sha256Of, type SwapFs } from './apply.js';
import { SwapConflictError, SwapStepError } from './errors.js';
import { type ArchiverLibrary } from './paths.js';
import type { FileFacts } from './decide.js';
import { chooseVersionSlot } from './versions.js';

/** Folder under each archive root where restored-over replacements are kept. */
export const REPLACEMENTS_DIR_NAME = '.conform-replacements';

/** Every path one restore touches, checked against its library and archive. */
export interface RestorePaths {
  library: string;
  archiveRoot: string;
  /** Where the original lived and goes back to. */
  path: string;
  /** The replacement now in the library (differs from `path` when the extension changed). */
  replacedPath: string;
  /** The archived original. */
  archivePath: string;
  /** Where the replacement is archived: `<archive>/.conform-replacements/<relative path>`. */
  replacementArchivePath: string;
  /** The original's copy in the library's work folder, renamed over `path` in one step. */
  stagingPath: string;
}

/** What the restore decision needs, read from the filesystem just before deciding. */
export interface RestoreObservation {
  paths: RestorePaths;
  archived: FileFacts;
  /** True when `path` already holds the original's bytes. */
  pathHoldsOriginal: boolean;
  replaced: FileFacts;
  /** True when the replacement archive holds the bytes of the replacement. */
  replacementArchived: boolean;
}

/** One filesystem step of a restore; each re-checks the filesystem before acting. */
export type RestoreStep =
  | { kind: 'archive-replacement' }
  | { kind: 'stage-original' }
  | { kind: 'install-original' }
  | { kind: 'remove-replacement' };

export type RestoreOutcome =
  { kind: 'restored'; size: number } | { kind: 'failed'; reason: string };

export interface RestorePlan {
  steps: RestoreStep[];
  outcome: RestoreOutcome;
}

/** The event a restore ends with. */
export type RestoreResult = DomainEventOf<'file.restored'> | DomainEventOf<'restore.failed'>;

/** Where a restore puts things, from the `file.replaced` it undoes. Pure. */
export function resolveRestorePaths(
  replaced: FileReplacedData,
  fileId: string,
  libraries: readonly ArchiverLibrary[],
): { ok: true; paths: RestorePaths } | { ok: false; reason: string } {
  const configured = libraries.find((l) => resolve(l.root) === resolve(replaced.library));
  if (!configured)
    return { ok: false, reason: `library ${replaced.library} is not configured here` };
  const rel = relativeInside(configured.root, replaced.path);
  const relNew = relativeInside(configured.root, replaced.newPath);
  if (rel === null || relNew === null) {
    return { ok: false, reason: `${replaced.path} is outside library ${configured.root}` };
  }
  if (relativeInside(configured.archive, replaced.archivePath) === null) {
    return {
      ok: false,
      reason: `${replaced.archivePath} is outside archive ${configured.archive}`,
    };
  }
  return {
    ok: true,
    paths: {
      library: configured.root,
      archiveRoot: configured.archive,
      path: replaced.path,
      replacedPath: replaced.newPath,
      archivePath: replaced.archivePath,
      replacementArchivePath: join(configured.archive, REPLACEMENTS_DIR_NAME, relNew),
      stagingPath: join(
        configured.root,
        WORK_DIR_NAME,
        `${fileId}.restore${extname(replaced.path)}`,
      ),
    },
  };
}

/**
 * Fixes which version of `<archive>/.conform-replacements/<relative path>` this restore fills:
 * the one already holding the replacement's bytes (an interrupted run), else the first free
 * one, so restoring the same path twice never overwrites the replacement kept the first time.
 */
export async function settleRestorePaths(
  paths: RestorePaths,
  replacementSize: number,
  fs: SwapFs = realFs,
): Promise<RestorePaths> {
  const [replaced, atPath, archived] = await Promise.all([
    factsOf(fs, paths.replacedPath),
    factsOf(fs, paths.path),
    factsOf(fs, paths.archivePath),
  ]);
  // Once the original is back, the replacement's bytes are only in the archive: a repeat of a
  // finished restore recognises its version by the replacement's recorded size.
  const replacementGone =
    replaced.kind !== 'file' ||
    (paths.replacedPath === paths.path &&
      (await sameContent(fs, paths.path, atPath, paths.archivePath, archived)));
  const slot = await chooseVersionSlot(
    paths.replacementArchivePath,
    (p) => factsOf(fs, p),
    async (p, facts) =>
      replacementGone
        ? facts.size === replacementSize
        : sameContent(fs, paths.replacedPath, replaced, p, facts),
  );
  return { ...paths, replacementArchivePath: slot.path };
}

/**
 * Decides what is left of a restore from what is on disk, so a redelivered or interrupted
 * restore finishes, or finds itself done. Pure.
 */
export function planRestore(o: RestoreObservation): RestorePlan {
  const { paths } = o;
  if (o.archived.kind !== 'file') {
    return {
      steps: [],
      outcome: { kind: 'failed', reason: `the archive holds no original at ${paths.archivePath}` },
    };
  }
  const steps: RestoreStep[] = [];
  const replacementPresent =
    o.replaced.kind === 'file' && !(paths.replacedPath === paths.path && o.pathHoldsOriginal);
  if (replacementPresent && !o.replacementArchived) steps.push({ kind: 'archive-replacement' });
  if (!o.pathHoldsOriginal) steps.push({ kind: 'stage-original' }, { kind: 'install-original' });
  if (paths.replacedPath !== paths.path && o.replaced.kind === 'file') {
    steps.push({ kind: 'remove-replacement' });
  }
  return { steps, outcome: { kind: 'restored', size: o.archived.size } };
}

/** Reads what {@link planRestore} needs. */
export async function observeRestore(
  paths: RestorePaths,
  fs: SwapFs = realFs,
): Promise<RestoreObservation> {
  const [archived, atPath, replaced, replacementArchive] = await Promise.all([
    factsOf(fs, paths.archivePath),
    factsOf(fs, paths.path),
    factsOf(fs, paths.replacedPath),
    factsOf(fs, paths.replacementArchivePath),
  ]);
  for (const [p, f] of [
    [paths.path, atPath],
    [paths.replacedPath, replaced],
    [paths.archivePath, archived],
    [paths.replacementArchivePath, replacementArchive],
  ] as const) {
    if (f.kind === 'not-a-file')
      throw new SwapConflictError(`${p} is ${f.what}; refusing to restore over it`);
  }
  return {
    paths,
    archived,
    pathHoldsOriginal: await sameContent(fs, paths.path, atPath, paths.archivePath, archived),
    replaced,
    replacementArchived: await sameContent(
      fs,
      paths.replacedPath,
      replaced,
      paths.replacementArchivePath,
      replacementArchive,
    ),
  };
}

async function sameContent(
  fs: SwapFs,
  a: string,
  fa: FileFacts,
  b: string,
  fb: FileFacts,
): Promise<boolean> {
  if (fa.kind !== 'file' || fb.kind !== 'file') return false;
  if (fa.dev === fb.dev && fa.ino === fb.ino) return true;
  if (fa.size !== fb.size) return false;
  return (await sha256Of(fs, a)) === (await sha256Of(fs, b));
}

/** Executes one restore step if the filesystem still needs it. */
export async function applyRestoreStep(
  step: RestoreStep,
  paths: RestorePaths,
  fs: SwapFs = realFs,
): Promise<void> {
  switch (step.kind) {
    case 'archive-replacement': {
      const o = await observeRestore(paths, fs);
      if (o.replacementArchived || o.replaced.kind !== 'file') return;
      if (
        o.replaced.kind === 'file' &&
        (await factsOf(fs, paths.replacementArchivePath)).kind === 'file'
      ) {
        throw new SwapConflictError(
          `${paths.replacementArchivePath} already holds a different file`,
        );
      }
      return placeCopy(fs, paths.replacedPath, paths.replacementArchivePath);
    }
    case 'stage-original': {
      const staged = await factsOf(fs, paths.stagingPath);
      // A staging copy from an interrupted run may be partial: start it again.
      if (staged.kind === 'file') await fs.unlink(paths.stagingPath);
      return placeCopy(fs, paths.archivePath, paths.stagingPath);
    }
    case 'install-original': {
      const o = await observeRestore(paths, fs);
      if (o.pathHoldsOriginal) return;
      const staged = await factsOf(fs, paths.stagingPath);
      if (staged.kind !== 'file' || o.archived.kind !== 'file' || staged.size !== o.archived.size) {
        throw new SwapStepError(
          `the staged original ${paths.stagingPath} is missing or incomplete`,
        );
      }
      if (o.replaced.kind === 'file' && !o.replacementArchived) {
        throw new SwapStepError(
          `refusing to restore over ${paths.replacedPath}: it is not archived yet`,
        );
      }
      return durableRename(paths.stagingPath, paths.path, fs);
    }
    case 'remove-replacement': {
      const o = await observeRestore(paths, fs);
      if (o.replaced.kind !== 'file') return;
      if (!o.pathHoldsOriginal || !o.replacementArchived) {
        throw new SwapStepError(
          `not removing ${paths.replacedPath}: the original is not back or it is not archived`,
        );
      }
      await fs.unlink(paths.replacedPath);
      return fsyncPath(dirname(paths.replacedPath), fs);
    }
    default:
      return assertNever(step, 'restore step');
  }
}

/** Hard link when possible (same filesystem), else a verified copy; never a partial file at `to`. */
async function placeCopy(fs: SwapFs, from: string, to: string): Promise<void> {
  const created = await fs.mkdir(dirname(to), { recursive: true });
  try {
    await fs.link(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (!['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK'].includes(code)) throw err;
    await copyVerified(fs, from, to);
  }
  await fsyncPath(dirname(to), fs);
  if (created) await fsyncPath(dirname(created), fs);
}

/**
 * Puts the archived original of one `file.replaced` back, the replacement into the archive.
 * Safe to run again at any point. Conflicts come back as `restore.failed`; filesystem errors
 * that may pass throw (the caller turns them into retries).
 */
export async function restoreOriginal(
  replaced: FileReplacedData,
  fileId: string,
  libraries: readonly ArchiverLibrary[],
  fs: SwapFs = realFs,
): Promise<RestoreResult> {
  const fail = (reason: string): RestoreResult => ({
    type: 'restore.failed',
    data: { library: replaced.library, path: replaced.path, reason },
  });
  const resolved = resolveRestorePaths(replaced, fileId, libraries);
  if (!resolved.ok) return fail(resolved.reason);
  try {
    const paths = await settleRestorePaths(resolved.paths, replaced.newSize, fs);
    const plan = planRestore(await observeRestore(paths, fs));
    for (const step of plan.steps) await applyRestoreStep(step, paths, fs);
    if (plan.outcome.kind === 'failed') return fail(plan.outcome.reason);
    return {
      type: 'file.restored',
      data: {
        library: paths.library,
        path: paths.path,
        replacedPath: paths.replacedPath,
        replacementArchivePath: paths.replacementArchivePath,
        restoredSize: plan.outcome.size,
        ...(replaced.policyVersion !== undefined ? { policyVersion: replaced.policyVersion } : {}),
      },
    };
  } catch (err) {
    if (err instanceof SwapConflictError) return fail(err.message);
    throw err;
  }
}
