// The paths still settling, each with its stability state, and the files found stable that
// wait for a fingerprint. Driven by the pure stability decider; holds no other logic.
import { relativeInside } from '@conform/contracts';
import { basename } from 'node:path';
import type { Library } from './library-fs.js';
import { stabilityDecider, type PathStability, type StabilityInput } from './decide-stability.js';

/** A file whose size and mtime stayed unchanged for the whole window. */
export interface StableFile {
  library: Library;
  path: string;
  relativePath: string;
  size: number;
  mtimeMs: number;
}

interface Tracked {
  library: Library;
  relativePath: string;
  state: PathStability;
}

export class SettlingPaths {
  private readonly tracked = new Map<string, Tracked>();
  private readonly stable: StableFile[] = [];
  private readonly decider;

  constructor(private readonly windowMs: number) {
    this.decider = stabilityDecider(windowMs);
  }

  /** Applies one observation; calls `forgotten` when a tracked path vanished. */
  apply(library: Library, path: string, input: StabilityInput, forgotten: () => void): void {
    const entry = this.tracked.get(path) ?? {
      library,
      relativePath: relativeInside(library.root, path) ?? basename(path),
      state: this.decider.initialState(),
    };
    for (const event of this.decider.decide(input, entry.state)) {
      entry.state = this.decider.evolve(entry.state, event);
      if (event.kind === 'stable') {
        const { size, mtimeMs } = event;
        this.stable.push({ library, path, relativePath: entry.relativePath, size, mtimeMs });
      } else if (event.kind === 'forgotten') {
        forgotten();
      }
    }
    // Only files still settling are tracked: once stable, the catalogue holds what is known,
    // and the next sighting of the path starts a fresh stability check. That keeps a large
    // library's memory to one catalogue entry per file.
    if (entry.state.phase === 'settling') this.tracked.set(path, entry);
    else this.tracked.delete(path);
  }

  has(path: string): boolean {
    return this.tracked.has(path);
  }

  /** Settling paths whose window has passed: due for another stat. */
  due(now: number): [string, Library][] {
    const due: [string, Library][] = [];
    for (const [path, entry] of this.tracked) {
      if (entry.state.phase === 'settling' && now - entry.state.since >= this.windowMs) {
        due.push([path, entry.library]);
      }
    }
    return due;
  }

  /** The stable files found since the last call. */
  takeStable(): StableFile[] {
    return this.stable.splice(0, this.stable.length);
  }

  /** Nothing settling and nothing waiting for a fingerprint. */
  get idle(): boolean {
    return this.stable.length === 0 && this.tracked.size === 0;
  }
}
