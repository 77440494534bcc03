// The inotify edge of a library: one fs.watch per folder (not per file), its own walk of the
// tree, and a budget of watches. chokidar would lstat every file of every folder at start and
// again on every change in a folder, and keep every file name in memory; here a folder costs
// one readdir and one watch, a file nothing until it is a candidate.
import { watch, type FSWatcher } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@conform/bus';

/** How many inotify watches this process may still take, shared by all its libraries. */
export interface WatchBudget {
  remaining: number;
}

/** Thrown by {@link FolderWatch.start} when the tree has more folders than the budget. */
export class WatchBudgetExceeded extends Error {
  override readonly name = 'WatchBudgetExceeded';
  readonly code = 'WATCH_BUDGET_EXCEEDED';
  constructor(
    readonly root: string,
    readonly budget: number,
  ) {
    super(`library ${root} has more folders than the ${budget} inotify watches available`);
  }
}

// Folders listed at once during a walk: enough to keep the disk busy, few enough to keep the
// number of open directory handles small.
const LIST_CONCURRENCY = 16;

export interface FolderWatchHandlers {
  /** A file name appeared, changed or vanished in a watched folder. */
  file(path: string): void;
  /** A watched folder is gone (deleted or moved away), with everything below it. */
  folderGone(dir: string): void;
  /** Whether a folder (below the root) is not to be entered: hidden ones. */
  skipFolder(dir: string): boolean;
  /** Resolves when there is room for more paths: the walk waits while its consumer catches up. */
  room?: () => Promise<void> | undefined;
}

/** Watches every folder below a root, listing each once when it appears (also at start). */
export class FolderWatch {
  private readonly watchers = new Map<string, FSWatcher>();
  private closed = false;
  private warnedFull = false;
  /** While true, running out of budget is an error for start(), not a warning. */
  private starting = true;

  constructor(
    private readonly root: string,
    private readonly budget: WatchBudget,
    private readonly on: FolderWatchHandlers,
    private readonly log: Logger,
  ) {}

  /** Watches and lists the whole tree; rejects with {@link WatchBudgetExceeded}, holding none. */
  async start(): Promise<void> {
    try {
      await this.addTree(this.root);
    } catch (err) {
      this.close();
      throw err;
    }
    this.starting = false;
  }

  /** The inotify watches held. */
  get size(): number {
    return this.watchers.size;
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers.values()) w.close();
    this.budget.remaining += this.watchers.size;
    this.watchers.clear();
  }

  /** Watches and lists a folder and every folder below it, a few at a time. */
  private async addTree(top: string): Promise<void> {
    const pending = [top];
    const running = new Set<Promise<void>>();
    while (pending.length || running.size) {
      while (pending.length && running.size < LIST_CONCURRENCY && !this.closed) {
        const task: Promise<void> = this.addFolder(pending.pop()!, pending).finally(() =>
          running.delete(task),
        );
        running.add(task);
      }
      if (this.closed) break;
      if (running.size) await Promise.race(running);
    }
    // A failure of one (the budget) is thrown once the others are done.
    await Promise.all(running);
  }

  private async addFolder(dir: string, subfolders: string[]): Promise<void> {
    await this.on.room?.();
    if (this.closed || this.watchers.has(dir)) return;
    this.watchFolder(dir);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR')
        this.log.warn({ err, dir }, 'cannot list folder');
      return;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (!this.on.skipFolder(path)) subfolders.push(path);
      } else if (e.isFile()) this.on.file(path);
    }
  }

  private watchFolder(dir: string): void {
    if (this.budget.remaining <= 0) {
      if (this.starting) throw new WatchBudgetExceeded(this.root, this.watchers.size);
      if (!this.warnedFull) {
        this.warnedFull = true;
        this.log.warn(
          { library: this.root, watches: this.watchers.size, dir },
          'inotify watch budget used up: changes in newer folders are found by the periodic rescan',
        );
      }
      return;
    }
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, { persistent: true }, (event, name) => this.changed(dir, event, name));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EMFILE') {
        // The kernel's limit, reached by other programs after we counted.
        this.budget.remaining = 0;
        return this.watchFolder(dir);
      }
      if (code !== 'ENOENT' && code !== 'ENOTDIR')
        this.log.warn({ err, dir }, 'cannot watch folder');
      return;
    }
    watcher.on('error', (err) => this.log.warn({ err, dir }, 'watch error'));
    this.watchers.set(dir, watcher);
    this.budget.remaining--;
  }

  private changed(dir: string, event: string, name: string | Buffer | null): void {
    if (this.closed || !this.watchers.has(dir)) return;
    if (!name) return; // an overflow: the periodic rescan catches what was lost
    const path = join(dir, name.toString());
    this.on.file(path);
    // Only a rename (create, delete, move) can be a folder appearing or going.
    if (event !== 'rename') return;
    lstat(path).then(
      (info) => {
        if (info.isDirectory() && !this.on.skipFolder(path)) {
          this.addTree(path).catch((err: unknown) =>
            this.log.warn({ err, dir: path }, 'cannot watch folder'),
          );
        }
      },
      () => this.forgetTree(path),
    );
  }

  /** A folder that vanished: its watches and those below it are released. */
  private forgetTree(dir: string): void {
    if (!this.watchers.has(dir)) return;
    const below = dir + '/';
    for (const [path, w] of this.watchers) {
      if (path === dir || path.startsWith(below)) {
        w.close();
        this.watchers.delete(path);
        this.budget.remaining++;
      }
    }
    this.on.folderGone(dir);
  }
}
