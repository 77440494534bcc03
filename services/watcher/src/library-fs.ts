// The watcher's filesystem edge: checking the configured roots, watching them, walking them
// and statting one candidate path. Nothing here decides anything; it reports what is there.
import { relativeInside } from '@conform/contracts';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
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

/** Tells `observe` about every candidate path that may have changed, `folderGone` about removed folders. */
export function watchLibrary(
  library: Library,
  usePolling: boolean,
  pollIntervalMs: number,
  observe: (library: Library, path: string) => void,
  folderGone: (library: Library, dir: string) => void,
  log: Logger,
): Promise<FSWatcher> {
  const candidate = (path: string) => {
    const rel = relativeInside(library.root, path);
    if (rel === null || isHiddenBelow(library.root, path) || library.reject(rel) !== null) return;
    observe(library, path);
  };
  // With inotify, only folders are watched: one watch per folder, not per file, so a library
  // of 100,000 files needs about 1,000 watches (the kernel's per-user limit is often 8,192)
  // and no per-file state. A folder's watch reports changes to the files in it ('raw'), and a
  // folder that appears (also at start) is listed once. Polling cannot see inside a folder
  // that way, so a polled library has chokidar stat every file.
  const watcher = watch(library.root, {
    persistent: true,
    ignoreInitial: false,
    followSymlinks: false,
    usePolling,
    interval: pollIntervalMs,
    binaryInterval: pollIntervalMs,
    ignored: (path, stats) =>
      isHiddenBelow(library.root, path) ||
      (stats?.isFile() === true &&
        (!usePolling || library.reject(relativeInside(library.root, path) ?? '') !== null)),
  });
  if (usePolling) {
    watcher.on('add', candidate);
    watcher.on('change', candidate);
    watcher.on('unlink', candidate);
  } else {
    watcher.on('addDir', (dir: string) => {
      readdir(dir, { withFileTypes: true }).then(
        (entries) => {
          for (const e of entries) if (e.isFile()) candidate(join(dir, e.name));
        },
        (err: unknown) => log.warn({ err, dir }, 'cannot list folder'),
      );
    });
    watcher.on('raw', (_event, name, details) => {
      const folder = (details as { watchedPath?: string } | undefined)?.watchedPath;
      if (name && folder) candidate(join(folder, name));
    });
    // Its files vanished with it; the next tick finds each known one missing.
    watcher.on('unlinkDir', (dir: string) => folderGone(library, dir));
  }
  watcher.on('error', (err) => log.warn({ err, library: library.root }, 'watch error'));
  return new Promise((resolveReady) => watcher.once('ready', () => resolveReady(watcher)));
}

/**
 * Stats a candidate without following symlinks. A path reached through a symlinked folder
 * inside the library is skipped as well: its real location may lie outside the library.
 */
export async function observePath(
  library: { root: string; realRoot: string },
  path: string,
): Promise<PathObservation> {
  const relativePath = relativeInside(library.root, path);
  if (relativePath === null) return { kind: 'skipped', reason: 'outside the library' };
  let info;
  try {
    info = await lstat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'gone' };
    return { kind: 'skipped', reason: `cannot stat: ${code ?? (err as Error).message}` };
  }
  if (info.isSymbolicLink()) return { kind: 'skipped', reason: 'a symbolic link' };
  if (!info.isFile()) return { kind: 'skipped', reason: 'not a regular file' };
  const realParent = await realpath(dirname(path)).catch(() => null);
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
