import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { wrap } from '@conform/contracts';
import { provisionEventLog, type RunningService, type ServiceContext } from '@conform/bus';
import {
  decideCatalogue,
  evolveCatalogue,
  type Catalogue,
  type CatalogueDecision,
  type IdentityEvent,
} from './catalogue.js';
import { fingerprintFile } from './fingerprint.js';
import { followEventLog, type EventLogFollower } from './history.js';
import { LibraryRootError } from './errors.js';
import {
  isHiddenBelow,
  libraryFilter,
  relativeInside,
  type LibraryFilter,
  type LibraryFilterOptions,
} from './filters.js';
import { stabilityDecider, type PathStability, type StabilityInput } from './stability.js';

/** One library folder to watch, with which of its files count (extensions, include, exclude). */
export interface WatchedLibrary extends LibraryFilterOptions {
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
  /** How often every library is walked again to catch what the watch missed. Default 15 min; 0 = never. */
  rescanIntervalMs?: number;
}

export const DEFAULT_RESCAN_INTERVAL_MS = 15 * 60_000;

// Parallelism of the edge: stats and head/tail reads in flight at once, publishes awaited together.
const STAT_CHUNK = 256;
const FINGERPRINT_CHUNK = 32;
const PUBLISH_WINDOW = 256;

export const DEFAULT_STABILITY_WINDOW_MS = 5_000;

/** What a single stat of a candidate path found, before the stability rule looks at it. */
export type PathObservation =
  | { kind: 'file'; size: number; mtimeMs: number }
  | { kind: 'gone' }
  | { kind: 'skipped'; reason: string };

interface Library {
  root: string;
  realRoot: string;
  /** Why a path relative to the root is not a candidate, or null. */
  reject: LibraryFilter;
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
  const libraries = await checkLibraries(opts.libraries);
  const decider = stabilityDecider(windowMs);
  // A rename is an unlink now and a new file that becomes stable a window later: wait longer
  // than that before calling a missing file removed, so the move is recognised first.
  const removalGraceMs = 3 * windowMs + 2 * tickMs;
  const tracked = new Map<string, Tracked>();
  // What the event log says the watcher announced before: rebuilt from the log at every start,
  // so a restart publishes nothing for files already known.
  let catalogue: Catalogue = { files: new Map(), byPath: new Map(), vanished: new Map() };
  const history: EventLogFollower = await followEventLog(
    ctx.bus.js,
    (event, sequence) => {
      catalogue = evolveCatalogue(catalogue, { kind: 'logged', sequence, event });
    },
    log,
  );
  // Decided events the event log has not accepted yet, by path (a newer decision replaces).
  const outbox = new Map<string, IdentityEvent>();
  // Paths chokidar or a rescan reported since the last tick; a Set, so a burst of events on
  // one path costs one stat, and a 100,000-file scan costs no promise per file.
  const dirty = new Map<string, Library>();
  // Files found stable, waiting for their fingerprint.
  const stable: {
    library: Library;
    path: string;
    relativePath: string;
    size: number;
    mtimeMs: number;
  }[] = [];
  let stopped = false;

  const conclude = (decisions: CatalogueDecision[]) => {
    for (const d of decisions) {
      if ('type' in d) outbox.set(d.data.path, d);
      else catalogue = evolveCatalogue(catalogue, d);
    }
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
        stable.push({
          library,
          path,
          relativePath: entry.relativePath,
          size: event.size,
          mtimeMs: event.mtimeMs,
        });
      } else if (event.kind === 'forgotten') {
        if (outbox.get(path)?.type !== 'file.removed') outbox.delete(path);
        conclude(decideCatalogue({ kind: 'missing', path, now: Date.now() }, catalogue, windowMs));
      }
    }
    // Only files still settling are tracked: once stable, the catalogue holds what is known,
    // and the next sighting of the path starts a fresh stability check. That keeps a large
    // library's memory to one catalogue entry per file.
    if (entry.state.phase === 'settling') tracked.set(path, entry);
    else tracked.delete(path);
  };

  const observe = (library: Library, path: string) => {
    if (!stopped) dirty.set(path, library);
  };
  const folderGone = (library: Library, dir: string) => {
    for (const path of catalogue.byPath.keys()) {
      if (relativeInside(dir, path) !== null) observe(library, path);
    }
  };

  /** Stats what changed and what is due, all in parallel chunks, then applies in order. */
  const observeDue = async (now: number) => {
    const due = new Map(dirty);
    dirty.clear();
    for (const [path, entry] of tracked) {
      if (entry.state.phase === 'settling' && now - entry.state.since >= windowMs) {
        due.set(path, entry.library);
      }
    }
    const paths = [...due];
    for (let i = 0; i < paths.length && !stopped; i += STAT_CHUNK) {
      const chunk = paths.slice(i, i + STAT_CHUNK);
      const seen = await Promise.all(chunk.map(([path, library]) => observePath(library, path)));
      const at = Date.now();
      chunk.forEach(([path, library], k) => {
        const o = seen[k]!;
        if (o.kind === 'file') {
          // A known file with the very stamp the log remembers has not changed: it needs no
          // stability wait, so a rescan or restart costs one stat per unchanged file.
          const known = catalogue.files.get(catalogue.byPath.get(path) ?? '');
          if (known && !tracked.has(path) && known.size === o.size && known.mtimeMs === o.mtimeMs) {
            catalogue.vanished.delete(known.fileId);
            return;
          }
          apply(library, path, {
            kind: 'observed',
            path,
            size: o.size,
            mtimeMs: o.mtimeMs,
            now: at,
          });
        } else {
          if (o.kind === 'skipped')
            log.debug({ path, reason: o.reason }, 'not a discoverable file');
          apply(library, path, { kind: 'vanished', path });
          // A stable file is no longer tracked, so its disappearance is the catalogue's news.
          conclude(decideCatalogue({ kind: 'missing', path, now: at }, catalogue, windowMs));
        }
      });
    }
  };

  const identifyStable = async () => {
    // A known path with the stamp the log remembers is nothing new: no need to read it for a
    // fingerprint: a restart over 100,000 unchanged files would otherwise read two MiB of each.
    // A known file that was seen missing and is back unchanged just loses its missing mark.
    const batch = stable.splice(0, stable.length).filter((f) => {
      const known = catalogue.files.get(catalogue.byPath.get(f.path) ?? '');
      if (!known || known.size !== f.size || known.mtimeMs !== f.mtimeMs) return true;
      if (catalogue.vanished.has(known.fileId)) catalogue.vanished.delete(known.fileId);
      return false;
    });
    for (let i = 0; i < batch.length && !stopped; i += FINGERPRINT_CHUNK) {
      const chunk = batch.slice(i, i + FINGERPRINT_CHUNK);
      const prints = await Promise.all(chunk.map((f) => fingerprintFile(f.path).catch(() => null)));
      chunk.forEach((f, k) => {
        const fingerprint = prints[k];
        // Changed again or gone since it was stable: the next observation will tell.
        if (!fingerprint || fingerprint.size !== f.size || fingerprint.mtimeMs !== f.mtimeMs)
          return;
        conclude(
          decideCatalogue(
            {
              kind: 'stable',
              library: f.library.root,
              path: f.path,
              relativePath: f.relativePath,
              fingerprint,
            },
            catalogue,
            windowMs,
          ),
        );
      });
    }
  };

  const publishOne = async (path: string, pending: IdentityEvent) => {
    const { fileId, ...event } = pending;
    try {
      const envelope = wrap(event as Omit<IdentityEvent, 'fileId'> as never, {
        fileId,
        producer: ctx.publisher.producer,
        time: new Date(),
        discriminator: discriminatorOf(pending, catalogue),
      });
      const { seq } = await ctx.publisher.publish(envelope);
      catalogue = evolveCatalogue(catalogue, { kind: 'logged', sequence: seq, event: envelope });
      if (outbox.get(path) === pending) outbox.delete(path);
      log.info({ path, fileId, event: pending.type }, pending.type.replace('file.', ''));
    } catch (err) {
      log.warn({ err, path }, `could not publish ${pending.type}; retrying on the next tick`);
    }
  };

  const publishPending = async () => {
    conclude(decideCatalogue({ kind: 'tick', now: Date.now() }, catalogue, removalGraceMs));
    // Different paths are independent, so publishes are pipelined a window at a time.
    const pending = [...outbox];
    for (let i = 0; i < pending.length && !stopped; i += PUBLISH_WINDOW) {
      await Promise.all(
        pending.slice(i, i + PUBLISH_WINDOW).map(([path, e]) => publishOne(path, e)),
      );
    }
  };

  const rescan = async () => {
    for (const library of libraries) {
      const seen = new Set<string>();
      for await (const path of walkLibrary(library)) {
        if (stopped) return;
        seen.add(path);
        observe(library, path);
      }
      // Known files the walk did not meet: check them, so a missed deletion is noticed.
      for (const [path, fileId] of catalogue.byPath) {
        if (!seen.has(path) && catalogue.files.get(fileId)?.library === library.root) {
          observe(library, path);
        }
      }
    }
  };
  const rescanMs = opts.rescanIntervalMs ?? DEFAULT_RESCAN_INTERVAL_MS;
  const rescanTimer =
    rescanMs > 0
      ? setInterval(() => {
          if (!stopped) rescan().catch((err: unknown) => log.warn({ err }, 'rescan failed'));
        }, rescanMs)
      : null;

  let scanned = false;
  let settledOnce = false;
  // One tick at a time: observations of a path are applied in the order they were made.
  let running: Promise<void> = Promise.resolve();
  let ticking = false;
  const tick = async () => {
    await observeDue(Date.now());
    await identifyStable();
    await publishPending();
    const settling = [...tracked.values()].some((e) => e.state.phase === 'settling');
    if (
      scanned &&
      !settledOnce &&
      !settling &&
      dirty.size === 0 &&
      stable.length === 0 &&
      outbox.size === 0
    ) {
      settledOnce = true;
      // Operators (and the benchmark) read this line: the first full scan is done.
      log.info({ known: catalogue.files.size }, 'library scan settled');
    }
  };
  const timer = setInterval(() => {
    if (ticking || stopped) return;
    ticking = true;
    running = tick()
      .catch((err: unknown) => log.error({ err }, 'watcher step failed'))
      .finally(() => (ticking = false));
  }, tickMs);

  const watchers: FSWatcher[] = [];
  try {
    for (const [i, library] of libraries.entries()) {
      const usePolling = opts.libraries[i]?.usePolling ?? false;
      watchers.push(await watchLibrary(library, usePolling, tickMs, observe, folderGone, log));
    }
    // Known files that vanished while the watcher was not running.
    for (const [path, fileId] of catalogue.byPath) {
      const library = libraries.find((l) => l.root === catalogue.files.get(fileId)?.library);
      if (library) observe(library, path);
    }
  } catch (err) {
    stopped = true;
    clearInterval(timer);
    if (rescanTimer) clearInterval(rescanTimer);
    await Promise.all(watchers.map((w) => w.close()));
    await history.stop();
    throw err;
  }
  scanned = true;
  log.info({ libraries: libraries.map((l) => l.root), windowMs }, 'watcher started');

  return {
    name: 'watcher',
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      if (rescanTimer) clearInterval(rescanTimer);
      await Promise.all(watchers.map((w) => w.close()));
      await running;
      await history.stop();
      log.info('watcher stopped');
    },
  };
}

async function checkLibraries(configured: WatchedLibrary[]): Promise<Library[]> {
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

function watchLibrary(
  library: Library,
  usePolling: boolean,
  pollIntervalMs: number,
  observe: (library: Library, path: string) => void,
  folderGone: (library: Library, dir: string) => void,
  log: ServiceContext['log'],
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

/** Dedupe key of an announcement: the same sighting twice is one event in the log. */
function discriminatorOf(event: IdentityEvent, catalogue: Catalogue): string {
  switch (event.type) {
    case 'file.discovered':
    case 'file.changed':
      return `${event.data.size}:${event.data.mtimeMs}`;
    case 'file.moved':
      return `${event.data.fromPath}>${event.data.path}:${event.data.size}:${event.data.mtimeMs}`;
    case 'file.removed':
      return `removed:${catalogue.files.get(event.fileId)?.sequence ?? 0}`;
  }
}

/** Every candidate video file below a library root; hidden folders and symlinks are not entered. */
async function* walkLibrary(library: Library): AsyncGenerator<string> {
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
