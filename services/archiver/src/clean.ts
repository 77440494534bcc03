import { WORK_DIR_NAME } from '@conform/contracts';
import { readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { EventType } from '@conform/contracts';
import { fsyncPath, lastEventOf, lastEventsOfType, type Bus } from '@conform/bus';
import { factsOf, realFs, sha256Of, type SwapFs } from './apply.js';
import { type ArchiverLibrary } from './paths.js';

/** Default of quality.yaml `workRetentionHours`. */
export const DEFAULT_WORK_RETENTION_HOURS = 72;

/** A file's last pipeline event settles whether its work files can still be used. */
const FINISHED: ReadonlySet<EventType> = new Set([
  'encode.failed',
  'verify.failed',
  'replace.failed',
  'message.deadlettered',
  'file.replaced',
  'file.restored',
  'file.removed',
]);
const PIPELINE: readonly EventType[] = [
  ...FINISHED,
  'file.planned',
  'encode.started',
  'encode.requeued',
  'encode.completed',
  'verify.passed',
];

/** One file in a library's work folder. */
export interface WorkEntry {
  library: string;
  path: string;
  fileId: string | null;
  mtimeMs: number;
  size: number;
}

/** What is known of one file from the log. */
export interface FileOutcome {
  last: EventType | null;
  /** From its last replace.failed, when that is its last event: the archive copy and the path. */
  failedSwap: { archivePath: string; path: string; timeMs: number } | null;
}

/** One removal `conform clean` makes. */
export type CleanAction =
  | { kind: 'remove-work-file'; path: string; size: number; why: string }
  | { kind: 'remove-archive-copy'; path: string; original: string; why: string };

/**
 * Which leftovers may go, older than `retentionHours`: work files (outputs, partials, restore
 * staging) of files whose last event ended their run (failed, replaced, restored, removed), and
 * the archive copy a failed swap left of an original that is still in place. Pure: the log and
 * the clock come in as data; the byte comparison happens when applying.
 */
export function planClean(
  entries: readonly WorkEntry[],
  outcomes: ReadonlyMap<string, FileOutcome>,
  nowMs: number,
  /** The retention of the library holding a path (a work file or a library file). */
  retentionHours: (path: string) => number,
): CleanAction[] {
  const actions: CleanAction[] = [];
  for (const e of entries) {
    const hours = retentionHours(e.path);
    if (nowMs - e.mtimeMs < hours * 3_600_000) continue;
    const outcome = e.fileId ? outcomes.get(e.fileId) : undefined;
    const partial = e.path.endsWith('.partial');
    if (partial || !outcome?.last || FINISHED.has(outcome.last)) {
      const why = partial
        ? `a partial output untouched for ${hours} h`
        : outcome?.last
          ? `its file's run ended (${outcome.last}) over ${hours} h ago`
          : `no event names its file and it is over ${hours} h old`;
      actions.push({ kind: 'remove-work-file', path: e.path, size: e.size, why });
    }
  }
  for (const [, outcome] of outcomes) {
    const failed = outcome.failedSwap;
    if (!failed || outcome.last !== 'replace.failed') continue;
    const hours = retentionHours(failed.path);
    if (nowMs - failed.timeMs < hours * 3_600_000) continue;
    actions.push({
      kind: 'remove-archive-copy',
      path: failed.archivePath,
      original: failed.path,
      why: `the swap failed over ${hours} h ago and ${failed.path} is still the original`,
    });
  }
  return actions;
}

/** Lists every library's work folder. */
export async function readWorkEntries(
  libraries: readonly ArchiverLibrary[],
  fs: SwapFs = realFs,
): Promise<WorkEntry[]> {
  const entries: WorkEntry[] = [];
  for (const lib of libraries) {
    const dir = join(resolve(lib.root), WORK_DIR_NAME);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      const path = join(dir, name);
      const s = await fs.lstat(path).catch(() => null);
      if (!s?.isFile()) continue;
      entries.push({
        library: resolve(lib.root),
        path,
        fileId: fileIdOfWorkFile(name),
        mtimeMs: s.mtimeMs,
        size: s.size,
      });
    }
  }
  return entries;
}

/** `<fileId>-<12 chars>.mkv[.partial]` or `<fileId>.restore.<ext>` → the file id. Pure. */
export function fileIdOfWorkFile(name: string): string | null {
  const stem = name.split('.')[0] ?? '';
  if (name.startsWith(`${stem}.restore.`)) return stem || null;
  const m = /^(.+)-[A-Za-z0-9_]{12}$/.exec(stem);
  return m ? m[1]! : null;
}

/** Reads from the log what {@link planClean} needs about each file. */
export async function readOutcomes(
  bus: Bus,
  fileIds: Iterable<string>,
): Promise<Map<string, FileOutcome>> {
  const outcomes = new Map<string, FileOutcome>();
  for (const fileId of new Set(fileIds)) {
    let last: { seq: number; type: EventType } | null = null;
    let failedSwap: FileOutcome['failedSwap'] = null;
    for (const type of PIPELINE) {
      const latest = await lastEventOf(bus, type, fileId);
      if (!latest) continue;
      if (!last || latest.seq > last.seq) last = { seq: latest.seq, type };
      if (latest.event.type === 'replace.failed' && latest.event.data.archivePath) {
        failedSwap = {
          archivePath: latest.event.data.archivePath,
          path: latest.event.data.path,
          timeMs: Date.parse(latest.event.time),
        };
      }
    }
    outcomes.set(fileId, { last: last?.type ?? null, failedSwap });
  }
  return outcomes;
}

/** What one action did. */
export interface CleanResult {
  action: CleanAction;
  done: boolean;
  /** Why it was left alone, when it was. */
  skipped?: string;
}

/**
 * Applies the plan, re-checking each path first: an archive copy is removed only while the
 * original is still at its path with the same bytes, so no original is ever lost.
 */
export async function applyClean(
  actions: readonly CleanAction[],
  opts: { dryRun: boolean },
  fs: SwapFs = realFs,
): Promise<CleanResult[]> {
  const results: CleanResult[] = [];
  for (const action of actions) {
    const facts = await factsOf(fs, action.path);
    if (facts.kind !== 'file') {
      results.push({ action, done: false, skipped: 'no longer there' });
      continue;
    }
    if (action.kind === 'remove-archive-copy') {
      const original = await factsOf(fs, action.original);
      const same =
        original.kind === 'file' &&
        original.size === facts.size &&
        (await sha256Of(fs, action.original)) === (await sha256Of(fs, action.path));
      if (!same) {
        results.push({ action, done: false, skipped: 'the original is not byte-identical' });
        continue;
      }
    }
    if (!opts.dryRun) {
      await fs.unlink(action.path);
      await fsyncPath(dirname(action.path), fs);
    }
    results.push({ action, done: !opts.dryRun });
  }
  return results;
}

/** The whole clean: read, plan, apply. */
export async function cleanLeftovers(
  bus: Bus,
  libraries: readonly ArchiverLibrary[],
  opts: { dryRun: boolean; now?: Date },
): Promise<CleanResult[]> {
  const entries = await readWorkEntries(libraries);
  const failed = await lastReplaceFailedIds(bus);
  const outcomes = await readOutcomes(bus, [
    ...entries.flatMap((e) => (e.fileId ? [e.fileId] : [])),
    ...failed,
  ]);
  const hours = (path: string) =>
    libraries.find((l) => path.startsWith(`${resolve(l.root)}/`))?.workRetentionHours ??
    DEFAULT_WORK_RETENTION_HOURS;
  const actions = planClean(entries, outcomes, (opts.now ?? new Date()).getTime(), hours);
  return applyClean(actions, opts);
}

async function lastReplaceFailedIds(bus: Bus): Promise<string[]> {
  const latest = await lastEventsOfType(bus, 'replace.failed');
  return [...latest.values()].filter((l) => l.event.data.archivePath).map((l) => l.event.fileId);
}
