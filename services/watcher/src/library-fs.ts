// The watcher's filesystem edge: checking the configured roots, watching them, walking them
// and statting one candidate path. Nothing here decides anything; it reports what is there.
// Past 250 lines: the stat of a candidate comes twice (promise and synchronous calls, see
// observePathSync), sharing its checks so the two cannot disagree.
import { relativeInside } from '@conform/contracts';
import { lstat as lstatCallback, lstatSync, realpathSync, type Stats } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { watch } from 'chokidar';
import { FolderWatch, WatchBudgetExceeded, type WatchBudget } from './folder-watch.js';
import { MAX_USER_WATCHES_FILE } from './inotify-budget.js';
import type { Logger } from '@conform/bus';
import { LibraryRootError } from './errors.js';
import {
  isHiddenBelow,
  libraryFilter,
  type LibraryFilter,
  type LibraryFilterOptions,
} from './filters.js';

/** One library folder to watch, with which of its files count (extensions, include, exclude). */
export interface WatchedLibrary extends LibraryFilterOptions {
  root: string;
  /** Poll instead of using inotify: for network mounts (SMB/NFS) where events do not arrive. */
  usePolling?: boolean;
}

/** A checked library root: its path as configured, its real path, and its file filter. */
export interface Library {
  root: string;
  realRoot: string;
  /** Why a path relative to the root is not a candidate, or null. */
  reject: LibraryFilter;
}

/** What a single stat of a candidate path found, before the stability rule looks at it. */
export type PathObservation =
  | { kind: 'file'; size: number; mtimeMs: number }
  | { kind: 'gone' }
  | { kind: 'skipped'; reason: string };

/** Each root exists, is a folder, and no root lies inside another. */
export async function checkLibraries(configured: WatchedLibrary[]): Promise<Library[]> {
  const roots = configured.map((l) => resolve(l.root));
  const libraries: Library[] = [];
  for (const root of roots) {
    const info = await stat(root).catch((err: NodeJS.ErrnoException) => {
      throw new LibraryRootError(root, err.code ?? err.message, { cause: err });
    });
    if (!info.isDirectory()) throw new LibraryRootError(root, 'not a directory');
    const other = roots.find((r) => r !== root && relativeInside(r, root) !== null);
    if (other) {
      // A file in both would be discovered twice under two ids and two archives.
      throw new LibraryRootError(root, `it lies inside library ${other}`);
    }
    const options = configured[roots.indexOf(root)];
    libraries.push({ root, realRoot: await realpath(root), reject: libraryFilter(options) });
  }
  return libraries;
}

/** A running watch of one library. */
export interface LibraryWatch {
  /** Polled: configured so, or the inotify watch budget was too small for its folders. */
  polling: boolean;
  /** Inotify watches held (0 when polled). */
  readonly watches: number;
  close(): Promise<void>;
}

/**
 * Tells `observe` about every candidate path that may have changed (every existing one at
 * start), `folderGone` about removed folders. With inotify, only folders are watched: one
 * watch per folder, so a library of 100,000 files in 1,000 folders needs 1,000 watches and no
 * per-file state. When its folders outnumber the watches left in `budget`, the library is
 * polled instead, with a warning. Polling cannot see inside a folder that way, so a polled
 * library has chokidar stat every file.
 */
export async function watchLibrary(
  library: Library,
  opts: {
    usePolling: boolean;
    pollIntervalMs: number;
    budget: WatchBudget;
    /** The walk waits on this before each folder (see {@link FolderWatchHandlers.room}). */
    room?: () => Promise<void> | undefined;
  },
  observe: (library: Library, path: string) => void,
  folderGone: (library: Library, dir: string) => void,
  log: Logger,
): Promise<LibraryWatch> {
  const candidate = (path: string) => {
    const rel = relativeInside(library.root, path);
    if (rel === null || isHiddenBelow(library.root, path) || library.reject(rel) !== null) return;
    observe(library, path);
  };
  if (!opts.usePolling) {
    const folders = new FolderWatch(
      library.root,
      opts.budget,
      {
        file: candidate,
        folderGone: (dir) => folderGone(library, dir),
        skipFolder: (dir) => isHiddenBelow(library.root, dir),
        room: opts.room,
      },
      log,
    );
    try {
      await folders.start();
      return {
        polling: false,
        get watches() {
          return folders.size;
        },
        close: async () => folders.close(),
      };
    } catch (err) {
      if (!(err instanceof WatchBudgetExceeded)) throw err;
      log.warn(
        { library: library.root, watchesAvailable: err.budget, limitFile: MAX_USER_WATCHES_FILE },
        `library ${library.root} has more folders than the ${err.budget} inotify watches left: polling it instead (slower to notice changes; raise fs.inotify.max_user_watches to watch it)`,
      );
    }
  }
  const watcher = watch(library.root, {
    persistent: true,
    ignoreInitial: false,
    followSymlinks: false,
    usePolling: true,
    interval: opts.pollIntervalMs,
    binaryInterval: opts.pollIntervalMs,
    ignored: (path, stats) =>
      isHiddenBelow(library.root, path) ||
      (stats?.isFile() === true &&
        library.reject(relativeInside(library.root, path) ?? '') !== null),
  });
  watcher.on('add', candidate);
  watcher.on('change', candidate);
  watcher.on('unlink', candidate);
  watcher.on('unlinkDir', (dir: string) => folderGone(library, dir));
  watcher.on('error', (err) => log.warn({ err, library: library.root }, 'watch error'));
  await new Promise<void>((resolveReady) => watcher.once('ready', () => resolveReady()));
  return { polling: true, watches: 0, close: () => watcher.close() };
}

/**
 * `lstat` through the callback API: the scan's hot path, one per file of the library. The
 * promise API's `lstat` costs about 1.8 times the CPU per call (its request object and
 * wrappers; 51,200 calls: 0.72 s against 0.40 s on the development machine).
 */
function lstatOf(path: string): Promise<Stats> {
  return new Promise((resolveStat, rejectStat) =>
    lstatCallback(path, (err, info) => (err ? rejectStat(err) : resolveStat(info))),
  );
}

/**
 * Stats a candidate without following symlinks. A path reached through a symlinked folder
 * inside the library is skipped as well: its real location may lie outside the library.
 */
export async function observePath(
  library: { root: string; realRoot: string },
  path: string,
  /** Real paths of folders resolved in this batch: a folder of 100 files costs one realpath. */
  realDirs?: Map<string, Promise<string | null>>,
): Promise<PathObservation> {
  const relativePath = relativeInside(library.root, path);
  if (relativePath === null) return OUTSIDE;
  let info;
  try {
    info = await lstatOf(path);
  } catch (err) {
    return statFailed(err);
  }
  const notFile = notAFile(info);
  if (notFile) return notFile;
  const parent = dirname(path);
  let real = realDirs?.get(parent);
  if (!real) {
    real = realpath(parent).catch(() => null);
    realDirs?.set(parent, real);
  }
  return inLibrary(library, relativePath, await real, info);
}

/**
 * {@link observePath} with the synchronous calls, for a local library: a restart stats every
 * file, and the promise API costs several times the stat itself in bookkeeping on the main
 * thread (100,000 files: about a second). The caller bounds how many it does per turn of the
 * event loop. Not for a network mount, where one stat may wait on the server.
 */
export function observePathSync(
  library: { root: string; realRoot: string },
  path: string,
  /** Real paths of folders resolved in this batch, as for {@link observePath}. */
  realDirs?: Map<string, string | null>,
): PathObservation {
  const relativePath = relativeInside(library.root, path);
  if (relativePath === null) return OUTSIDE;
  let info;
  try {
    info = lstatSync(path);
  } catch (err) {
    return statFailed(err);
  }
  const notFile = notAFile(info);
  if (notFile) return notFile;
  const parent = dirname(path);
  let realParent = realDirs?.get(parent);
  if (realParent === undefined) {
    try {
      // The native realpath(3), as the promise API's: both observations must agree.
      realParent = realpathSync.native(parent);
    } catch {
      realParent = null;
    }
    realDirs?.set(parent, realParent);
  }
  return inLibrary(library, relativePath, realParent, info);
}

const OUTSIDE: PathObservation = { kind: 'skipped', reason: 'outside the library' };

function statFailed(err: unknown): PathObservation {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'gone' };
  return { kind: 'skipped', reason: `cannot stat: ${code ?? (err as Error).message}` };
}

function notAFile(info: Stats): PathObservation | null {
  if (info.isSymbolicLink()) return { kind: 'skipped', reason: 'a symbolic link' };
  if (!info.isFile()) return { kind: 'skipped', reason: 'not a regular file' };
  return null;
}

/** A regular file, unless its folder's real path is not where it lies below the library. */
function inLibrary(
  library: { realRoot: string },
  relativePath: string,
  realParent: string | null,
  info: Stats,
): PathObservation {
  if (realParent !== join(library.realRoot, dirname(relativePath))) {
    return { kind: 'skipped', reason: 'reached through a symbolic link' };
  }
  return { kind: 'file', size: info.size, mtimeMs: info.mtimeMs };
}

/** Every candidate video file below a library root; hidden folders and symlinks are not entered. */
export async function* walkLibrary(library: Library): AsyncGenerator<string> {
  const pending = [library.root];
  while (pending.length) {
    const dir = pending.pop()!;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) pending.push(path);
      else if (
        entry.isFile() &&
        library.reject(relativeInside(library.root, path) ?? '') === null
      ) {
        yield path;
      }
    }
  }
}
