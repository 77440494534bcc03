import type { SourceStamp } from '@conform/contracts';
import type { SwapPaths } from './paths.js';

/** What lstat said about one path; symlinks and folders are `not-a-file` and never followed. */
export type FileFacts =
  | { kind: 'missing' }
  | { kind: 'file'; size: number; mtimeMs: number; dev: number; ino: number }
  | { kind: 'not-a-file'; what: string };

/** Everything the swap decision needs, read from the filesystem just before deciding. */
export interface SwapObservation {
  paths: SwapPaths;
  /** Size and mtime of the original when it was planned. */
  source: SourceStamp;
  original: FileFacts;
  output: FileFacts;
  archived: FileFacts;
  /** The final path; the same facts as `original` when the extension does not change. */
  final: FileFacts;
  /** Set when a folder on the way to one of the paths is a symlink leading elsewhere. */
  escape: string | null;
}

/** One filesystem step of a swap; the applier re-checks the filesystem before each. */
export type SwapStep =
  /** Delete the output of a stale plan. */
  | { kind: 'discard-output' }
  /** Hard-link (or verified-copy) the original into the archive, leaving it in the library. */
  | { kind: 'archive-original' }
  /** fsync the output and rename it over the final path, then fsync the folder. */
  | { kind: 'install-output' }
  /** With an extension change: remove the original, which the archive now holds. */
  | { kind: 'remove-original' };

/** The event a swap ends with. */
export type SwapOutcome =
  { kind: 'replaced'; newSize: number } | { kind: 'failed'; reason: string; stale: boolean };

export interface SwapPlan {
  steps: SwapStep[];
  outcome: SwapOutcome;
}

/**
 * Decides the remaining steps of a swap from what is on disk. Because it starts from an
 * observation rather than from memory, running it again after a crash or a redelivery
 * finishes a half-done swap, or finds it done and only reports it.
 */
export function planSwap(o: SwapObservation): SwapPlan {
  const { paths, source } = o;
  if (o.escape) return refuse(o.escape);
  const named: [string, FileFacts][] = [
    [paths.path, o.original],
    [paths.outputPath, o.output],
    [paths.archivePath, o.archived],
    [paths.finalPath, o.final],
  ];
  for (const [path, facts] of named) {
    if (facts.kind === 'not-a-file') {
      return refuse(`${path} is ${facts.what}, not a regular file; refusing to touch it`);
    }
  }
  const finalIsPath = paths.finalPath === paths.path;
  const originalMatches =
    o.original.kind === 'file' &&
    o.original.size === source.size &&
    o.original.mtimeMs === source.mtimeMs;

  if (o.output.kind === 'file') {
    if (!originalMatches) {
      return {
        steps: [{ kind: 'discard-output' }],
        outcome: {
          kind: 'failed',
          reason: staleReason(paths.path, o.original, source),
          stale: true,
        },
      };
    }
    if (!finalIsPath && o.final.kind === 'file') {
      return refuse(`${paths.finalPath} already exists; refusing to overwrite it`);
    }
    const alreadyLinked = o.archived.kind === 'file' && sameFile(o.archived, o.original);
    if (o.archived.kind === 'file' && !alreadyLinked && o.archived.size !== source.size) {
      return refuse(`archive ${paths.archivePath} already holds a different file`);
    }
    const steps: SwapStep[] = alreadyLinked ? [] : [{ kind: 'archive-original' }];
    steps.push({ kind: 'install-output' });
    if (!finalIsPath) steps.push({ kind: 'remove-original' });
    return { steps, outcome: { kind: 'replaced', newSize: o.output.size } };
  }

  // The output is gone: either it was swapped in already, or there is nothing to swap.
  const archiveHoldsOriginal = o.archived.kind === 'file' && o.archived.size === source.size;
  const outputInstalled = o.final.kind === 'file' && (!finalIsPath || !originalMatches);
  if (archiveHoldsOriginal && outputInstalled && o.final.kind === 'file') {
    const steps: SwapStep[] = !finalIsPath && originalMatches ? [{ kind: 'remove-original' }] : [];
    return { steps, outcome: { kind: 'replaced', newSize: o.final.size } };
  }
  return refuse(`the verified output ${paths.outputPath} is missing; nothing was swapped`);
}

function refuse(reason: string): SwapPlan {
  return { steps: [], outcome: { kind: 'failed', reason, stale: false } };
}

function sameFile(a: FileFacts, b: FileFacts): boolean {
  return a.kind === 'file' && b.kind === 'file' && a.dev === b.dev && a.ino === b.ino;
}

function staleReason(path: string, original: FileFacts, source: SourceStamp): string {
  if (original.kind !== 'file') return `source ${path} no longer exists; output discarded`;
  return (
    `source ${path} changed since it was planned ` +
    `(size ${source.size} -> ${original.size}, mtime ${source.mtimeMs} -> ${original.mtimeMs}); ` +
    'output discarded'
  );
}
