// Wiring of the watcher: the filesystem edge (library-fs) feeds the stability and catalogue
// deciders, whose announcements go out through the outbox; the log follower keeps the
// catalogue in step with what the event log says, from the catalogue snapshot on when there
// is a usable one (catalogue-snapshot.ts). Longer than a wiring file should be: the
// scan's steps (walk, settle, announce, in bounded batches so a 1,000,000-file library is not
// held in memory at once) are sequenced here; splitting the scan loop out is the next step.
import { setImmediate as yieldToIo, setTimeout as sleep } from 'node:timers/promises';
import { relativeInside } from '@conform/contracts';
import type { EventEnvelope } from '@conform/contracts';
import {
  EVENT_LOG_STREAM,
  provisionEventLog,
  type RunningService,
  type ServiceContext,
} from '@conform/bus';
import {
  CATALOGUE_EVENT_TYPES,
  decideCatalogue,
  emptyCatalogue,
  evolveCatalogue,
  isKnownUnchanged,
  type Catalogue,
  type CatalogueDecision,
} from './decide.js';
import {
  captureCatalogue,
  readCatalogueSnapshot,
  removeStaleSnapshotTemps,
  snapshotPath,
  writeCatalogueSnapshot,
  type LogIdentity,
} from './catalogue-snapshot.js';
import { fingerprintFile } from './fingerprint.js';
import { followEventLog, type EventLogFollower } from './log-follower.js';
import {
  checkLibraries,
  observePath,
  observePathSync,
  walkLibrary,
  watchLibrary,
  type Library,
  type LibraryWatch,
  type PathObservation,
  type WatchedLibrary,
} from './library-fs.js';
import { availableInotifyWatches } from './inotify-budget.js';
import { Outbox } from './outbox.js';
import { SettlingPaths } from './settling.js';
import type { StabilityInput } from './decide-stability.js';

/** Options of {@link startWatcher}. */
export interface WatcherOptions {
  libraries: WatchedLibrary[];
  /** How long size and mtime must stay unchanged before a file is discovered. Default 5000. */
  stabilityWindowMs?: number;
  /** How often pending files are re-statted (and polled libraries polled). Default min(window/4, 1000). */
  pollIntervalMs?: number;
  /** How often every library is walked again to catch what the watch missed. Default 15 min; 0 = never. */
  rescanIntervalMs?: number;
  /**
   * How many inotify watches (one per folder) the libraries may take together. Default: what
   * the kernel's per-user limit leaves (see {@link availableInotifyWatches}). A library with
   * more folders than are left is polled instead, with a warning.
   */
  inotifyWatchBudget?: number;
  /**
   * Where the catalogue snapshot is kept (`watcher-catalogue.snapshot`, see
   * catalogue-snapshot.ts): a start then reads the log after the snapshot only. Without it,
   * every start reads every file event of the log.
   */
  stateDir?: string;
  /**
   * Called once, when the first scan has announced every file it found that is stable: at the
   * `library scan settled` line, or before it while files are still being written (they are
   * announced once they are stable, and do not hold this up).
   */
  onScanSettled?: () => void;
}

export const DEFAULT_RESCAN_INTERVAL_MS = 15 * 60_000;

// Parallelism of the edge: stats and head/tail reads in flight at once.
const STAT_CHUNK = 256;
const FINGERPRINT_CHUNK = 32;
// Paths one step of a tick stats, fingerprints and publishes before the next step.
const STEP_PATHS = 2_048;
// Paths waiting to be statted before the walk of a library pauses. Four steps: the walk is
// faster than the steps, so during a first scan this buffer stays full, and paths held longer
// than a few young collections are copied into the old generation (50,000 of them were a
// first scan's largest transient on the heap).
const MAX_DIRTY_PATHS = 4 * STEP_PATHS;

export const DEFAULT_STABILITY_WINDOW_MS = 5_000;

// Events of other services after the snapshot's sequence that make an unchanged catalogue
// worth writing again (a start reads them all, skipping most unread).
const SNAPSHOT_LAG = 50_000;

/**
 * Watches each library with chokidar (existing files included) and publishes
 * `file.discovered` for every video file once its size and mtime have been stable for the
 * window. Publishing failures are retried on the next tick; nothing here throws after start.
 */
export async function startWatcher(
  ctx: ServiceContext,
  opts: WatcherOptions,
): Promise<RunningService> {
  const stream = await provisionEventLog(ctx.bus.jsm, ctx.eventLog);
  const log = ctx.log.child({ service: 'watcher' });
  const windowMs = opts.stabilityWindowMs ?? DEFAULT_STABILITY_WINDOW_MS;
  const tickMs = opts.pollIntervalMs ?? Math.max(10, Math.min(windowMs / 4, 1_000));
  const libraries = await checkLibraries(opts.libraries);
  // Libraries statted with the synchronous calls (see observePathSync): all but those polled
  // by configuration, the way a network mount is watched, where a stat may wait on the server.
  const local = new Set(libraries.filter((_, i) => !opts.libraries[i]?.usePolling));
  // A rename is an unlink now and a new file that becomes stable a window later: wait longer
  // than that before calling a missing file removed, so the move is recognised first.
  const removalGraceMs = 3 * windowMs + 2 * tickMs;
  const settling = new SettlingPaths(windowMs);
  // What the event log says the watcher announced before: rebuilt from the log at every start
  // (from the snapshot and the log after it, when there is a usable one), so a restart
  // publishes nothing for files already known.
  const identity: LogIdentity = {
    stream: EVENT_LOG_STREAM,
    created: stream.created,
    // An empty stream may say 0: it is 1 once it holds anything.
    firstSeq: stream.state.last_seq === 0 ? 1 : stream.state.first_seq,
  };
  const snapshotFile = opts.stateDir ? snapshotPath(opts.stateDir) : null;
  let catalogue: Catalogue = emptyCatalogue();
  /** The sequence the catalogue was loaded at (its snapshot's), 0 for none. */
  let loadedAt = 0;
  if (snapshotFile) {
    await removeStaleSnapshotTemps(snapshotFile);
    const loaded = await readCatalogueSnapshot(snapshotFile, {
      ...identity,
      lastSeq: stream.state.last_seq,
    });
    if (loaded.ok) {
      catalogue = loaded.catalogue;
      loadedAt = loaded.header.sequence;
      log.info(
        { path: snapshotFile, sequence: loadedAt, known: catalogue.files.size },
        'catalogue loaded from its snapshot; reading the log after it',
      );
    } else {
      log.info(
        { path: snapshotFile, reason: loaded.reason },
        `catalogue snapshot not used (${loaded.reason}): reading every file event of the log`,
      );
    }
  }
  /** Catalogue events folded since the snapshot was loaded or last written. */
  let foldedSinceSnapshot = 0;
  const logged = (event: EventEnvelope, sequence: number) => {
    catalogue = evolveCatalogue(catalogue, { kind: 'logged', sequence, event });
    foldedSinceSnapshot++;
  };
  // Sequences of our own publishes, already folded when the log accepted them: the follower
  // meets each again and need not decode it a second time.
  const own = new Set<number>();
  let followed = loadedAt;
  // Read while the libraries are walked (below); nothing is decided before it has caught up.
  const following: Promise<EventLogFollower> = followEventLog(ctx.bus.js, logged, log, {
    types: CATALOGUE_EVENT_TYPES,
    after: loadedAt,
    known: (sequence) => {
      followed = sequence;
      return own.delete(sequence);
    },
  });
  // Decided events the event log has not accepted yet.
  const outbox = new Outbox(
    ctx.publisher,
    log,
    () => catalogue,
    (event, sequence) => {
      logged(event, sequence);
      if (sequence > followed) own.add(sequence);
    },
  );
  // Paths chokidar or a rescan reported since the last tick; a Set, so a burst of events on
  // one path costs one stat, and a 100,000-file scan costs no promise per file.
  const dirty = new Map<string, Library>();
  let stopped = false;

  const conclude = (decisions: CatalogueDecision[]) => {
    for (const d of decisions) {
      if ('type' in d) outbox.add(d);
      else catalogue = evolveCatalogue(catalogue, d);
    }
  };

  const apply = (library: Library, path: string, input: StabilityInput) =>
    settling.apply(library, path, input, () => {
      outbox.forget(path);
      conclude(decideCatalogue({ kind: 'missing', path, now: Date.now() }, catalogue, windowMs));
    });

  // Paths the start-up walk reported (dropped once it is done): the known files it did not
  // meet are checked after it, and those it met are not statted a second time.
  let walked: Set<string> | null = new Set();
  const observe = (library: Library, path: string) => {
    if (stopped) return;
    dirty.set(path, library);
    walked?.add(path);
  };
  const folderGone = (library: Library, dir: string) => {
    for (const path of catalogue.byPath.keys()) {
      if (relativeInside(dir, path) !== null) observe(library, path);
    }
  };

  /**
   * Stats at most {@link STEP_PATHS} of what changed and what is due, in parallel chunks, then
   * applies in order. The rest waits for the next step of the same tick.
   */
  const observeDue = async (now: number) => {
    const step = new Map<string, Library>();
    for (const [path, library] of dirty) {
      if (step.size >= STEP_PATHS) break;
      step.set(path, library);
      dirty.delete(path);
    }
    if (step.size < STEP_PATHS) {
      for (const [path, library] of settling.due(now))
        if (!dirty.has(path)) step.set(path, library);
    }
    const paths = [...step];
    // Folder real paths, shared by this tick's stats only: a folder swapped for a symlink
    // since is caught on the next tick.
    const realDirs = new Map<string, Promise<string | null>>();
    const realDirsNow = new Map<string, string | null>();
    for (let i = 0; i < paths.length && !stopped; i += STAT_CHUNK) {
      const chunk = paths.slice(i, i + STAT_CHUNK);
      let seen: PathObservation[];
      if (chunk.every(([, library]) => local.has(library))) {
        seen = chunk.map(([path, library]) => observePathSync(library, path, realDirsNow));
        // A chunk of stats at a time, then whatever else waits (the walk, NATS, the watch).
        await yieldToIo();
      } else {
        seen = await Promise.all(
          chunk.map(([path, library]) =>
            local.has(library)
              ? observePathSync(library, path, realDirsNow)
              : observePath(library, path, realDirs),
          ),
        );
      }
      const at = Date.now();
      chunk.forEach(([path, library], k) => {
        const o = seen[k]!;
        if (o.kind === 'file') {
          // A known file with the very stamp the log remembers has not changed: it needs no
          // stability wait, so a rescan or restart costs one stat per unchanged file.
          if (!settling.has(path) && isKnownUnchanged(catalogue, path, o.size, o.mtimeMs)) {
            conclude(
              decideCatalogue(
                { kind: 'seen', path, size: o.size, mtimeMs: o.mtimeMs },
                catalogue,
                windowMs,
              ),
            );
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
    const batch = settling.takeStable().filter((f) => {
      if (!isKnownUnchanged(catalogue, f.path, f.size, f.mtimeMs)) return true;
      conclude(
        decideCatalogue(
          { kind: 'seen', path: f.path, size: f.size, mtimeMs: f.mtimeMs },
          catalogue,
          windowMs,
        ),
      );
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

  const publishPending = async () => {
    conclude(decideCatalogue({ kind: 'tick', now: Date.now() }, catalogue, removalGraceMs));
    await outbox.flush(() => stopped);
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
    // What a crash costs the next start stays bounded: the snapshot follows the rescans (it is
    // written only when something was folded since).
    snapshotDue = true;
  };
  const rescanMs = opts.rescanIntervalMs ?? DEFAULT_RESCAN_INTERVAL_MS;
  const rescanTimer =
    rescanMs > 0
      ? setInterval(() => {
          if (!stopped) rescan().catch((err: unknown) => log.warn({ err }, 'rescan failed'));
        }, rescanMs)
      : null;

  let history: EventLogFollower | undefined;
  // The snapshot holds the catalogue exactly as the fold of the log up to the follower's
  // position: only taken when no publish of ours is ahead of the follower (its event would be
  // in the catalogue but after the sequence), and not again for a position already written.
  let snapshotAt = loadedAt || -1;
  let snapshotDue = false;
  let snapshotWrites: Promise<void> = Promise.resolve();
  const saveSnapshot = (): boolean => {
    if (!snapshotFile || !history) return true;
    if (own.size > 0) return false;
    const sequence = history.position();
    // Nothing folded since: the snapshot on disk holds this catalogue already; its older
    // sequence only costs the next start a read of other services' events, unless many.
    if (sequence === snapshotAt) return true;
    if (foldedSinceSnapshot === 0 && snapshotAt >= 0 && sequence - snapshotAt < SNAPSHOT_LAG)
      return true;
    foldedSinceSnapshot = 0;
    const capture = captureCatalogue(catalogue, sequence);
    snapshotAt = sequence;
    snapshotWrites = snapshotWrites.then(() =>
      writeCatalogueSnapshot(snapshotFile, capture, identity).then(
        () =>
          log.info(
            { path: snapshotFile, sequence, known: capture.entries.length },
            'catalogue snapshot written',
          ),
        (err: unknown) => {
          snapshotAt = -1;
          log.warn({ err, path: snapshotFile }, 'could not write the catalogue snapshot');
        },
      ),
    );
    return true;
  };

  let scanned = false;
  let settledOnce = false;
  let scanAnnounced = false;
  // One tick at a time: observations of a path are applied in the order they were made.
  let running: Promise<void> = Promise.resolve();
  let ticking = false;
  const tick = async () => {
    // In steps, so a first scan of 100,000 files publishes from its first step on (the
    // read model fills while the scan goes on) and holds one step's work in memory at a time.
    do {
      await observeDue(Date.now());
      await identifyStable();
      await publishPending();
    } while (dirty.size > 0 && !stopped);
    const announced = scanned && dirty.size === 0 && outbox.size === 0;
    // Files still being written do not hold this up: one recording for hours would otherwise
    // keep whatever waits for the scan waiting with it.
    if (announced && !scanAnnounced) {
      scanAnnounced = true;
      opts.onScanSettled?.();
    }
    if (announced && !settledOnce && settling.idle) {
      settledOnce = true;
      // Operators (and the benchmark) read this line: the first full scan is done.
      log.info({ known: catalogue.files.size }, 'library scan settled');
      snapshotDue = true;
    }
    if (snapshotDue && saveSnapshot()) snapshotDue = false;
  };
  let timer: NodeJS.Timeout | undefined;
  const kick = () => {
    if (ticking || stopped) return;
    ticking = true;
    running = tick()
      .catch((err: unknown) => log.error({ err }, 'watcher step failed'))
      .finally(() => (ticking = false));
  };
  // A bounded buffer: the walk of a million-file library waits while this many paths are still
  // to be statted, instead of holding every path of the library at once.
  const room = () =>
    dirty.size < MAX_DIRTY_PATHS
      ? undefined
      : (async () => {
          while (dirty.size >= MAX_DIRTY_PATHS && !stopped) await sleep(20);
        })();
  const watchers: LibraryWatch[] = [];
  const watchAll = async () => {
    const budget = { remaining: opts.inotifyWatchBudget ?? (await availableInotifyWatches()) };
    for (const [i, library] of libraries.entries()) {
      const usePolling = opts.libraries[i]?.usePolling ?? false;
      watchers.push(
        await watchLibrary(
          library,
          { usePolling, pollIntervalMs: tickMs, budget, room },
          observe,
          folderGone,
          log,
        ),
      );
    }
  };
  try {
    // The walk fills `dirty` while the log is read: a restart pays for the slower of the two.
    const walking = watchAll();
    walking.catch(() => {}); // awaited below; a failure of the log read must not leave it unhandled
    history = await following;
    log.info(
      { after: loadedAt, position: history.position(), read: history.delivered() },
      'catalogue caught up with the log',
    );
    // The first tick at once: what the walk reported so far is statted while it goes on.
    kick();
    timer = setInterval(kick, tickMs);
    await walking;
    // Known files that vanished while the watcher was not running.
    const met = walked;
    walked = null;
    for (const [path, fileId] of catalogue.byPath) {
      if (met.has(path)) continue;
      const library = libraries.find((l) => l.root === catalogue.files.get(fileId)?.library);
      if (library) observe(library, path);
    }
  } catch (err) {
    stopped = true;
    clearInterval(timer);
    if (rescanTimer) clearInterval(rescanTimer);
    await Promise.all(watchers.map((w) => w.close()));
    await (history ?? (await following.catch(() => undefined)))?.stop();
    throw err;
  }
  const follower = history;
  scanned = true;
  // The scan may have settled already: say so now rather than a poll interval later.
  kick();
  log.info(
    {
      libraries: libraries.map((l, i) => ({
        root: l.root,
        polling: watchers[i]!.polling,
        watches: watchers[i]!.watches,
      })),
      windowMs,
    },
    'watcher started',
  );

  return {
    name: 'watcher',
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      if (rescanTimer) clearInterval(rescanTimer);
      await Promise.all(watchers.map((w) => w.close()));
      await running;
      // The log echoes our last publishes within moments: wait a little for them, so the
      // snapshot can be taken (see saveSnapshot); without them, the previous one stays.
      for (let i = 0; i < 50 && own.size > 0; i++) await sleep(20);
      await follower.stop();
      saveSnapshot();
      await snapshotWrites;
      log.info('watcher stopped');
    },
  };
}
