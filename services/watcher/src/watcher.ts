import { lstat, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { fileIdFor, type FileDiscoveredData } from '@conform/contracts';
import { provisionEventLog, type RunningService, type ServiceContext } from '@conform/bus';
import { LibraryRootError } from './errors.js';
import { isHiddenBelow, rejectFileName, relativeInside } from './filters.js';
import { stabilityDecider, type PathStability, type StabilityInput } from './stability.js';

/** One library folder to watch. */
export interface WatchedLibrary {
  root: string;
  /** Poll instead of using inotify: for network mounts (SMB/NFS) where events do not arrive. */
  usePolling?: boolean;
}

/** Options of {@link startWatcher}. */
export interface WatcherOptions {
  libraries: WatchedLibrary[];
  /** How long size and mtime must stay unchanged before a file is discovered. Default 5000. */
  stabilityWindowMs?: number;
  /** How often pending files are re-statted (and polled libraries polled). Default min(window/4, 1000). */
  pollIntervalMs?: number;
}

export const DEFAULT_STABILITY_WINDOW_MS = 5_000;

/** What a single stat of a candidate path found, before the stability rule looks at it. */
export type PathObservation =
  | { kind: 'file'; size: number; mtimeMs: number }
  | { kind: 'gone' }
  | { kind: 'skipped'; reason: string };

interface Library {
  root: string;
  realRoot: string;
}

interface Tracked {
  library: Library;
  relativePath: string;
  state: PathStability;
}

/**
 * Watches each library with chokidar (existing files included) and publishes
 * `file.discovered` for every video file once its size and mtime have been stable for the
 * window. Publishing failures are retried on the next tick; nothing here throws after start.
 */
export async function startWatcher(
  ctx: ServiceContext,
  opts: WatcherOptions,
): Promise<RunningService> {
  await provisionEventLog(ctx.bus.jsm, ctx.eventLog);
  const log = ctx.log.child({ service: 'watcher' });
  const windowMs = opts.stabilityWindowMs ?? DEFAULT_STABILITY_WINDOW_MS;
  const tickMs = opts.pollIntervalMs ?? Math.max(10, Math.min(windowMs / 4, 1_000));
  const libraries = await checkLibraries(opts.libraries.map((l) => resolve(l.root)));
  const decider = stabilityDecider(windowMs);
  const tracked = new Map<string, Tracked>();
  // Stable files whose file.discovered the event log has not accepted yet.
  const outbox = new Map<string, { fileId: string; data: FileDiscoveredData }>();
  let stopped = false;

  // Observations of one path must be applied in the order they were made, or an older stat
  // could overwrite a newer one; one queue for all paths is simple and stats are cheap.
  let queue: Promise<void> = Promise.resolve();
  const enqueue = (work: () => Promise<void>) => {
    queue = queue.then(work).catch((err: unknown) => log.error({ err }, 'watcher step failed'));
  };

  const apply = (library: Library, path: string, input: StabilityInput) => {
    const entry = tracked.get(path) ?? {
      library,
      relativePath: relativeInside(library.root, path) ?? basename(path),
      state: decider.initialState(),
    };
    for (const event of decider.decide(input, entry.state)) {
      entry.state = decider.evolve(entry.state, event);
      if (event.kind === 'stable') {
        const data: FileDiscoveredData = {
          library: library.root,
          path,
          relativePath: entry.relativePath,
          size: event.size,
          mtimeMs: event.mtimeMs,
        };
        outbox.set(path, { fileId: fileIdFor(library.root, entry.relativePath), data });
      } else {
        outbox.delete(path);
      }
    }
    if (entry.state.phase === 'absent') tracked.delete(path);
    else tracked.set(path, entry);
  };

  const observe = (library: Library, path: string) =>
    enqueue(async () => {
      if (stopped) return;
      const seen = await observePath(library, path);
      switch (seen.kind) {
        case 'file':
          apply(library, path, {
            kind: 'observed',
            path,
            size: seen.size,
            mtimeMs: seen.mtimeMs,
            now: Date.now(),
          });
          return;
        case 'gone':
          apply(library, path, { kind: 'vanished', path });
          return;
        case 'skipped':
          log.debug({ path, reason: seen.reason }, 'not a discoverable file');
          apply(library, path, { kind: 'vanished', path });
          return;
      }
    });

  const publishPending = async () => {
    for (const [path, pending] of [...outbox]) {
      if (stopped) return;
      try {
        await ctx.publisher.emit(
          { type: 'file.discovered', data: pending.data },
          { fileId: pending.fileId, discriminator: `${pending.data.size}:${pending.data.mtimeMs}` },
        );
        if (outbox.get(path) === pending) outbox.delete(path);
        log.info({ path, size: pending.data.size }, 'discovered');
      } catch (err) {
        log.warn({ err, path }, 'could not publish file.discovered; retrying on the next tick');
      }
    }
  };

  let ticking = false;
  const timer = setInterval(() => {
    if (ticking || stopped) return;
    ticking = true;
    for (const [path, entry] of tracked) {
      if (entry.state.phase === 'settling') observe(entry.library, path);
    }
    enqueue(publishPending);
    enqueue(async () => {
      ticking = false;
    });
  }, tickMs);

  const watchers: FSWatcher[] = [];
  try {
    for (const [i, library] of libraries.entries()) {
      const usePolling = opts.libraries[i]?.usePolling ?? false;
      watchers.push(await watchLibrary(library, usePolling, tickMs, observe, log));
    }
  } catch (err) {
    stopped = true;
    clearInterval(timer);
    await Promise.all(watchers.map((w) => w.close()));
    throw err;
  }
  log.info({ libraries: libraries.map((l) => l.root), windowMs }, 'watcher started');

  return {
    name: 'watcher',
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await Promise.all(watchers.map((w) => w.close()));
      await queue;
      log.info('watcher stopped');
    },
  };
}

async function checkLibraries(roots: string[]): Promise<Library[]> {
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
    libraries.push({ root, realRoot: await realpath(root) });
  }
  return libraries;
}

function watchLibrary(
  library: Library,
  usePolling: boolean,
  pollIntervalMs: number,
  observe: (library: Library, path: string) => void,
  log: ServiceContext['log'],
): Promise<FSWatcher> {
  const watcher = watch(library.root, {
    persistent: true,
    ignoreInitial: false,
    followSymlinks: false,
    usePolling,
    interval: pollIntervalMs,
    binaryInterval: pollIntervalMs,
    // Directories arrive here too, sometimes without stats, so only files are judged by name.
    ignored: (path, stats) =>
      isHiddenBelow(library.root, path) ||
      (stats?.isFile() === true && rejectFileName(basename(path)) !== null),
  });
  const candidate = (path: string) => {
    if (relativeInside(library.root, path) === null) return;
    if (isHiddenBelow(library.root, path) || rejectFileName(basename(path)) !== null) return;
    observe(library, path);
  };
  watcher.on('add', candidate);
  watcher.on('change', candidate);
  watcher.on('unlink', candidate);
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
