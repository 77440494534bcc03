// The swap's apply stage (read → plan → apply): each step of a planned swap (archive copy,
// verify by hash, install of the replacement, fsyncs) against a SwapFs, so tests can fail any
// step. Kept whole because the steps share the partial-file and fsync rules that make a swap
// safe to repeat after a crash at any point.
import { createHash } from 'node:crypto';
import * as nodeFs from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { durableRename, explainMkdirFailure, fsyncPath } from '@conform/bus';
import { assertNever, type SourceStamp } from '@conform/contracts';
import { SwapConflictError, SwapStepError } from './errors.js';
import type { SwapPaths } from './paths.js';
import type { FileFacts, SwapObservation, SwapPlan, SwapStep } from './decide.js';
import { chooseVersionSlot } from './versions.js';

/** The filesystem calls a swap makes; tests pass a wrapper to inject EXDEV or a crash. */
export type SwapFs = Pick<
  typeof nodeFs,
  | 'lstat'
  | 'realpath'
  | 'mkdir'
  | 'link'
  | 'copyFile'
  | 'rename'
  | 'unlink'
  | 'open'
  | 'utimes'
  | 'chmod'
  | 'chown'
>;

/** The real filesystem. */
export const realFs: SwapFs = nodeFs;

/** Suffix of an archive copy still being written and verified; never the archive itself. */
export const PARTIAL_SUFFIX = '.conform-partial';

// Filesystems without hard links answer these; a verified copy works everywhere.
const LINK_UNSUPPORTED = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK']);

/** lstat as data: a symlink or folder is reported, never followed. */
export async function factsOf(fs: SwapFs, path: string): Promise<FileFacts> {
  try {
    const s = await fs.lstat(path);
    if (s.isFile())
      return { kind: 'file', size: s.size, mtimeMs: s.mtimeMs, dev: s.dev, ino: s.ino };
    return { kind: 'not-a-file', what: s.isSymbolicLink() ? 'a symbolic link' : 'not a file' };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw err;
  }
}

/**
 * Reads what {@link planSwap} needs about the swap's paths. The archive path in the returned
 * observation is the version slot this swap uses (see {@link chooseVersionSlot}): the slot an
 * earlier run of the same swap already filled, else the first free one, so an original archived
 * before is never overwritten and a path can be conformed again and again.
 */
export async function observeSwap(
  basePaths: SwapPaths,
  source: SourceStamp,
  fs: SwapFs = realFs,
): Promise<SwapObservation> {
  const [original, output, final, escape] = await Promise.all([
    factsOf(fs, basePaths.path),
    factsOf(fs, basePaths.outputPath),
    factsOf(fs, basePaths.finalPath),
    findEscape(fs, basePaths),
  ]);
  const slot = await chooseVersionSlot(
    basePaths.archivePath,
    (p) => factsOf(fs, p),
    (p, archived) => holdsThisOriginal(fs, basePaths.path, original, p, archived, source),
  );
  const paths = { ...basePaths, archivePath: slot.path };
  return { paths, source, original, output, archived: slot.facts, final, escape };
}

/**
 * Whether an archive version holds the original this swap is about: the same inode (a hard
 * link), or the same bytes while the original is still in the library, or — once the output
 * stands in its place — the planned size and mtime (both kinds of archiving keep the mtime).
 */
async function holdsThisOriginal(
  fs: SwapFs,
  path: string,
  original: FileFacts,
  archivePath: string,
  archived: FileFacts & { kind: 'file' },
  source: SourceStamp,
): Promise<boolean> {
  // A copy's mtime is set through a float of seconds: equal to well under a millisecond.
  const stampMatches =
    archived.size === source.size && Math.abs(archived.mtimeMs - source.mtimeMs) < 1;
  if (original.kind !== 'file') return stampMatches;
  if (archived.dev === original.dev && archived.ino === original.ino) return true;
  const originalIsSource = original.size === source.size && original.mtimeMs === source.mtimeMs;
  if (!originalIsSource) return stampMatches;
  if (archived.size !== original.size) return false;
  return (await sha256Of(fs, archivePath)) === (await sha256Of(fs, path));
}

async function findEscape(fs: SwapFs, paths: SwapPaths): Promise<string | null> {
  const checks: [string, string][] = [
    [paths.library, dirname(paths.path)],
    [paths.library, dirname(paths.outputPath)],
    [paths.archiveRoot, dirname(paths.archivePath)],
  ];
  for (const [root, dir] of checks) {
    if (await leadsOutside(fs, root, dir)) {
      return `${dir} leads outside ${root} through a symbolic link; refusing to touch it`;
    }
  }
  return null;
}

/**
 * True when the deepest existing folder between `root` and `dir` resolves somewhere other
 * than its place under the real root, i.e. a symlinked folder would carry a write outside.
 */
async function leadsOutside(fs: SwapFs, root: string, dir: string): Promise<boolean> {
  const realRoot = await realpathOrNull(fs, root);
  if (realRoot === null) return false; // created lexically by mkdir -p, nothing to follow
  for (let d = dir; ; d = dirname(d)) {
    const real = await realpathOrNull(fs, d);
    if (real !== null) return real !== join(realRoot, relative(root, d));
    if (d === root || dirname(d) === d) return false;
  }
}

async function realpathOrNull(fs: SwapFs, path: string): Promise<string | null> {
  try {
    return await fs.realpath(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** How the replacement takes over the original's place. */
export interface SwapOptions {
  /** Give the replacement the original's mtime (and atime) too; default false. */
  keepMtime?: boolean;
}

/** Runs a plan's steps in order; each re-checks the filesystem first, so re-running is safe. */
export async function applySwap(
  plan: SwapPlan,
  paths: SwapPaths,
  source: SourceStamp,
  fs: SwapFs = realFs,
  opts: SwapOptions = {},
): Promise<void> {
  for (const step of plan.steps) await applySwapStep(step, paths, source, fs, opts);
}

/** Executes one step if the filesystem still needs it. */
export async function applySwapStep(
  step: SwapStep,
  paths: SwapPaths,
  source: SourceStamp,
  fs: SwapFs = realFs,
  opts: SwapOptions = {},
): Promise<void> {
  switch (step.kind) {
    case 'discard-output':
      return discardOutput(fs, paths);
    case 'archive-original':
      return archiveOriginal(fs, paths);
    case 'install-output':
      return installOutput(fs, paths, source, opts);
    case 'remove-original':
      return removeOriginal(fs, paths);
    default:
      return assertNever(step, 'swap step');
  }
}

async function discardOutput(fs: SwapFs, paths: SwapPaths): Promise<void> {
  const output = await factsOf(fs, paths.outputPath);
  if (output.kind === 'missing') return;
  if (output.kind !== 'file') {
    throw new SwapConflictError(`${paths.outputPath} is ${output.what}; not deleting it`);
  }
  await fs.unlink(paths.outputPath);
}

/** Puts the original into the archive while leaving it in the library. */
async function archiveOriginal(fs: SwapFs, paths: SwapPaths): Promise<void> {
  const original = await factsOf(fs, paths.path);
  if (original.kind !== 'file') {
    throw new SwapStepError(`original ${paths.path} vanished before it was archived`);
  }
  if (await archiveAlreadyHolds(fs, paths, original)) return;
  const archiveDir = dirname(paths.archivePath);
  const firstCreated = await fs.mkdir(archiveDir, { recursive: true }).catch(async (err) => {
    throw await explainMkdirFailure(archiveDir, err); // EROFS, not node's ENOENT
  });
  try {
    await fs.link(paths.path, paths.archivePath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') {
      // Someone else archived it in between: fine if it is the same content.
      if (await archiveAlreadyHolds(fs, paths, original)) return;
      throw err;
    }
    if (!LINK_UNSUPPORTED.has(code)) throw err;
    await copyVerified(fs, paths.path, paths.archivePath);
  }
  await fsyncPath(archiveDir, fs);
  if (firstCreated) await fsyncPath(dirname(firstCreated), fs);
}

async function archiveAlreadyHolds(
  fs: SwapFs,
  paths: SwapPaths,
  original: FileFacts & { kind: 'file' },
): Promise<boolean> {
  const archived = await factsOf(fs, paths.archivePath);
  if (archived.kind === 'missing') return false;
  if (archived.kind === 'file') {
    if (archived.dev === original.dev && archived.ino === original.ino) return true;
    if (
      archived.size === original.size &&
      (await sha256Of(fs, paths.archivePath)) === (await sha256Of(fs, paths.path))
    ) {
      return true;
    }
  }
  throw new SwapConflictError(`archive ${paths.archivePath} already holds a different file`);
}

/**
 * Copies across filesystems without ever leaving a partial file at the archive path: copy
 * beside it, fsync, compare checksums, then rename into place.
 */
export async function copyVerified(fs: SwapFs, from: string, to: string): Promise<void> {
  const partial = to + PARTIAL_SUFFIX;
  await fs.copyFile(from, partial);
  const original = await fs.lstat(from);
  // Keeps the mtime (to the microsecond a float allows) so `conform restore` gives it back.
  await fs.utimes(partial, original.atimeMs / 1000, original.mtimeMs / 1000);
  await fsyncPath(partial, fs);
  const [want, got] = await Promise.all([sha256Of(fs, from), sha256Of(fs, partial)]);
  if (want !== got) {
    await fs.unlink(partial).catch(() => undefined);
    throw new SwapStepError(`archive copy of ${from} does not match it (sha256 ${got} != ${want})`);
  }
  await fs.rename(partial, to);
}

async function installOutput(
  fs: SwapFs,
  paths: SwapPaths,
  source: SourceStamp,
  opts: SwapOptions,
): Promise<void> {
  const output = await factsOf(fs, paths.outputPath);
  if (output.kind === 'missing') {
    if ((await factsOf(fs, paths.finalPath)).kind === 'file') return; // installed before a crash
    throw new SwapStepError(`output ${paths.outputPath} vanished before it was swapped in`);
  }
  const archived = await factsOf(fs, paths.archivePath);
  if (archived.kind !== 'file' || archived.size !== source.size) {
    throw new SwapStepError(`refusing to replace ${paths.path}: the archive does not hold it yet`);
  }
  const original = await factsOf(fs, paths.path);
  if (
    original.kind === 'file' &&
    (original.size !== source.size || original.mtimeMs !== source.mtimeMs)
  ) {
    throw new SwapStepError(`source ${paths.path} changed while it was being archived`);
  }
  if (paths.finalPath !== paths.path && (await factsOf(fs, paths.finalPath)).kind !== 'missing') {
    throw new SwapConflictError(`${paths.finalPath} already exists; refusing to overwrite it`);
  }
  await takeOverAttributes(
    fs,
    original.kind === 'file' ? paths.path : paths.archivePath,
    paths,
    opts,
  );
  await durableRename(paths.outputPath, paths.finalPath, fs);
}

/**
 * Gives the output the original's permission bits, owner and group (and, when asked, its
 * times) before it is renamed into place, so a private 0600 file never becomes world-readable.
 * Only root (or a member of the target group) may give a file away: a process that may not
 * keeps its own owner, but the mode still applies, so the file is never more open than before.
 */
async function takeOverAttributes(
  fs: SwapFs,
  from: string,
  paths: SwapPaths,
  opts: SwapOptions,
): Promise<void> {
  const original = await fs.lstat(from);
  const output = await fs.lstat(paths.outputPath);
  if (original.uid !== output.uid || original.gid !== output.gid) {
    try {
      await fs.chown(paths.outputPath, original.uid, original.gid);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    }
  }
  // After chown, which clears set-id bits.
  await fs.chmod(paths.outputPath, original.mode & 0o7777);
  if (opts.keepMtime) {
    await fs.utimes(paths.outputPath, original.atimeMs / 1000, original.mtimeMs / 1000);
  }
}

async function removeOriginal(fs: SwapFs, paths: SwapPaths): Promise<void> {
  const original = await factsOf(fs, paths.path);
  if (original.kind === 'missing') return;
  const archived = await factsOf(fs, paths.archivePath);
  const final = await factsOf(fs, paths.finalPath);
  const safe =
    original.kind === 'file' &&
    archived.kind === 'file' &&
    archived.size === original.size &&
    final.kind === 'file';
  if (!safe) {
    throw new SwapStepError(`not removing ${paths.path}: the archive or the new file is missing`);
  }
  await fs.unlink(paths.path);
  await fsyncPath(dirname(paths.path), fs);
}

export async function sha256Of(fs: SwapFs, path: string): Promise<string> {
  const hash = createHash('sha256');
  const handle = await fs.open(path, 'r');
  try {
    for await (const chunk of handle.createReadStream({ autoClose: false })) {
      hash.update(chunk as Buffer);
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}
