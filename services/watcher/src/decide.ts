// The catalogue decider, pure: what a settled path is (new, changed, moved, known, back) given
// everything the watcher knows, and how logged events fold into that knowledge (evolve). The
// stability decider (when a path counts as settled) is in decide-stability.ts.
import {
  assertNever,
  fileIdFor,
  type Decider,
  type DomainEventOf,
  type EventEnvelope,
  type FileFingerprint,
} from '@conform/contracts';

/**
 * A file the watcher has announced, as the event log remembers it: one of these per file of
 * every library, so only what the decisions read is kept (a million of them must fit).
 */
export interface CatalogueEntry {
  fileId: string;
  library: string;
  path: string;
  /** Only when it is not the path below the library root (see {@link relativePathOf}). */
  relativePath?: string;
  /** -1 when unknown (e.g. after the archiver swapped the content): the next sighting is a change. */
  size: number;
  mtimeMs: number;
  /** The fingerprint's head/tail hash, to recognise the content after a move; null if none. */
  hash: string | null;
  /** Stream sequence of the last event applied to this entry; older events are ignored. */
  sequence: number;
}

/** A known file's path relative to its library. */
export function relativePathOf(known: CatalogueEntry): string {
  return known.relativePath ?? known.path.slice(known.library.length + 1);
}

/** The entry for a file at `path` below `library`: relativePath kept only when not derivable. */
function catalogueEntry(
  fields: Omit<CatalogueEntry, 'relativePath'>,
  relativePath: string,
): CatalogueEntry {
  const derived =
    fields.path.length === fields.library.length + 1 + relativePath.length &&
    fields.path.startsWith(fields.library + '/') &&
    fields.path.endsWith(relativePath);
  return derived ? fields : { ...fields, relativePath };
}

/** Everything the watcher knows: files by id, ids by path, and known files seen to vanish. */
export interface Catalogue {
  files: Map<string, CatalogueEntry>;
  byPath: Map<string, string>;
  /** File id → when it was last seen missing; it becomes file.removed after the window. */
  vanished: Map<string, number>;
}

/** What the edge saw. `fingerprint` carries the size and mtime. */
export type CatalogueInput =
  | {
      kind: 'stable';
      library: string;
      path: string;
      relativePath: string;
      fingerprint: FileFingerprint;
    }
  | { kind: 'missing'; path: string; now: number }
  /** A stat of a path, before any stability wait: an unchanged known file needs none. */
  | { kind: 'seen'; path: string; size: number; mtimeMs: number }
  | { kind: 'tick'; now: number };

/** The events the watcher publishes. */
export type IdentityEvent = { fileId: string } & (
  | DomainEventOf<'file.discovered'>
  | DomainEventOf<'file.changed'>
  | DomainEventOf<'file.moved'>
  | DomainEventOf<'file.removed'>
);

/**
 * What changes the catalogue: an event from the log with its stream sequence (the watcher's
 * own, replayed at start or just published, or another service's swap), or a private note.
 */
export type CatalogueEvent =
  | { kind: 'logged'; sequence: number; event: EventEnvelope }
  | Exclude<CatalogueDecision, IdentityEvent>;

/** What the decider concludes: events to publish, or private notes about missing files. */
export type CatalogueDecision =
  | IdentityEvent
  | { kind: 'went-missing'; fileId: string; since: number }
  | { kind: 'came-back'; fileId: string };

/**
 * File identity across restarts, renames and moves. A path seen before with the same size and
 * mtime is nothing new (a restart or rescan publishes nothing); with another stamp it changed;
 * an unknown path whose content matches a known file that went missing is that file moved (it
 * keeps its id and history); a known file missing for a whole window is removed.
 */
export function decideCatalogue(
  input: CatalogueInput,
  state: Catalogue,
  windowMs: number,
): CatalogueDecision[] {
  switch (input.kind) {
    case 'stable':
      return decideStable(input, state);
    case 'missing': {
      const fileId = state.byPath.get(input.path);
      if (!fileId || state.vanished.has(fileId)) return [];
      return [{ kind: 'went-missing', fileId, since: input.now }];
    }
    case 'seen':
      return cameBack(state, input.path, input.size, input.mtimeMs);
    case 'tick': {
      const removed: IdentityEvent[] = [];
      for (const [fileId, since] of state.vanished) {
        const known = state.files.get(fileId);
        if (!known || input.now - since < windowMs) continue;
        removed.push({
          fileId,
          type: 'file.removed',
          data: { library: known.library, path: known.path, relativePath: relativePathOf(known) },
        });
      }
      return removed;
    }
    default:
      return assertNever(input, 'catalogue input');
  }
}

/**
 * The path is known with exactly this size and mtime: nothing about it is new, so it needs
 * neither a stability wait nor a fingerprint (a restart over 100,000 unchanged files costs one
 * stat each).
 */
export function isKnownUnchanged(
  state: Catalogue,
  path: string,
  size: number,
  mtimeMs: number,
): boolean {
  const known = state.files.get(state.byPath.get(path) ?? '');
  return known !== undefined && known.size === size && known.mtimeMs === mtimeMs;
}

/** A known file seen missing that is back unchanged just loses its missing mark. */
function cameBack(
  state: Catalogue,
  path: string,
  size: number,
  mtimeMs: number,
): CatalogueDecision[] {
  const fileId = state.byPath.get(path);
  if (!fileId || !state.vanished.has(fileId) || !isKnownUnchanged(state, path, size, mtimeMs))
    return [];
  return [{ kind: 'came-back', fileId }];
}

/**
 * The catalogue rule as one decider, for specifications: decisions are published events and
 * notes; the history it folds is what the catalogue learns, i.e. events the log accepted
 * (`logged`, with their sequence) and notes. An announcement the log has not accepted yet
 * changes nothing: the watcher's catalogue, too, only learns it once published.
 */
export function catalogueDecider(
  windowMs: number,
): Decider<CatalogueInput, Catalogue, CatalogueDecision | CatalogueEvent> {
  return {
    initialState: emptyCatalogue,
    decide: (input, state) => decideCatalogue(input, state, windowMs),
    evolve: (state, event) =>
      'type' in event ? state : evolveCatalogue(state, event as CatalogueEvent),
  };
}

/** An empty catalogue. */
export function emptyCatalogue(): Catalogue {
  return { files: new Map(), byPath: new Map(), vanished: new Map() };
}

function decideStable(
  input: Extract<CatalogueInput, { kind: 'stable' }>,
  state: Catalogue,
): CatalogueDecision[] {
  const { library, path, relativePath, fingerprint } = input;
  const data = {
    library,
    path,
    relativePath,
    size: fingerprint.size,
    mtimeMs: fingerprint.mtimeMs,
    fingerprint,
  };
  const knownId = state.byPath.get(path);
  if (knownId) {
    if (isKnownUnchanged(state, path, fingerprint.size, fingerprint.mtimeMs))
      return cameBack(state, path, fingerprint.size, fingerprint.mtimeMs);
    return [{ fileId: knownId, type: 'file.changed', data }];
  }
  for (const fileId of state.vanished.keys()) {
    const known = state.files.get(fileId);
    if (known && known.library === library && sameContent(known, fingerprint)) {
      return [{ fileId, type: 'file.moved', data: { ...data, fromPath: known.path } }];
    }
  }
  return [
    {
      fileId: freshFileId(state, library, relativePath, fingerprint),
      type: 'file.discovered',
      data,
    },
  ];
}

/** Same content: equal size, mtime and head/tail hash. Device and inode may differ (a move
 * across filesystems copies), so they do not count. */
function sameContent(a: CatalogueEntry, b: FileFingerprint): boolean {
  return (
    a.hash !== null && a.size === b.size && a.mtimeMs === b.mtimeMs && a.hash === b.headTailSha256
  );
}

/** The id for a new file: derived from its path, unless a moved file already carries that id. */
function freshFileId(
  state: Catalogue,
  library: string,
  relativePath: string,
  fp: FileFingerprint,
): string {
  const byPath = fileIdFor(library, relativePath);
  if (!state.files.has(byPath)) return byPath;
  return fileIdFor(library, `${relativePath}\0${fp.dev}:${fp.ino}:${fp.mtimeMs}`);
}

/** The logged event types {@link evolveCatalogue} folds; the log follower decodes only these. */
export const CATALOGUE_EVENT_TYPES: ReadonlySet<string> = new Set([
  'file.discovered',
  'file.changed',
  'file.moved',
  'file.removed',
  'file.replaced',
  'file.restored',
]);

/**
 * Folds one event into the catalogue and returns it. It updates the maps in place: copying
 * three maps of 100,000 entries for every event would make a large library's first scan
 * quadratic. The catalogue belongs to one watcher; `decideCatalogue` never mutates it.
 */
export function evolveCatalogue(state: Catalogue, event: CatalogueEvent): Catalogue {
  const { files, byPath, vanished } = state;
  const put = (entry: CatalogueEntry, fromPath?: string) => {
    const previous = files.get(entry.fileId);
    if (previous && previous.sequence > entry.sequence) return; // an older event, replayed
    if (previous && byPath.get(previous.path) === entry.fileId) byPath.delete(previous.path);
    if (fromPath && byPath.get(fromPath) === entry.fileId) byPath.delete(fromPath);
    files.set(entry.fileId, entry);
    byPath.set(entry.path, entry.fileId);
    vanished.delete(entry.fileId);
  };
  switch (event.kind) {
    case 'went-missing':
      vanished.set(event.fileId, event.since);
      break;
    case 'came-back':
      vanished.delete(event.fileId);
      break;
    case 'logged': {
      const e = event.event;
      const sequence = event.sequence;
      const fileId = e.fileId;
      switch (e.type) {
        case 'file.discovered':
        case 'file.changed':
        case 'file.moved':
          put(
            catalogueEntry(
              {
                fileId,
                library: e.data.library,
                path: e.data.path,
                size: e.data.size,
                mtimeMs: e.data.mtimeMs,
                hash: e.data.fingerprint?.headTailSha256 ?? null,
                sequence,
              },
              e.data.relativePath,
            ),
            e.type === 'file.moved' ? e.data.fromPath : undefined,
          );
          break;
        case 'file.removed': {
          const known = files.get(fileId);
          if (known && known.sequence <= sequence) {
            files.delete(fileId);
            if (byPath.get(known.path) === fileId) byPath.delete(known.path);
            vanished.delete(fileId);
          }
          break;
        }
        case 'file.replaced':
        case 'file.restored': {
          // The archiver put other content at the path (or at a new path when the container
          // changed): the next sighting there is a change of the same file, not a new file.
          const known = files.get(fileId);
          if (!known || known.sequence > sequence) break;
          const path = e.type === 'file.replaced' ? e.data.newPath : e.data.path;
          const relativePath = path.startsWith(known.library + '/')
            ? path.slice(known.library.length + 1)
            : relativePathOf(known);
          const { fileId: id, library, hash } = known;
          put(
            catalogueEntry(
              { fileId: id, library, path, size: -1, mtimeMs: -1, hash, sequence },
              relativePath,
            ),
            known.path,
          );
          break;
        }
        default:
          break;
      }
      break;
    }
    default:
      return assertNever(event, 'catalogue event');
  }
  return state;
}
