import type { Kysely } from 'kysely';
import { fileCountRows, statusCountsOf } from './file-counts.js';
import { totalBytesSaved } from './savings.js';
import type { FileCountsTable, ReadModelSchema } from './schema.js';

/** Files that meet the policy: found compliant, or replaced by a verified encode. */
export const conformingStatuses = ['compliant', 'replaced'] as const;
/**
 * Files the policy has no say over yet or at all; left out of the compliance ratio. A file
 * kept because re-encoding would not save enough, or a damaged source, cannot be judged either.
 */
export const unjudgedStatuses = [
  'discovered',
  'probed',
  'unreadable',
  'removed',
  'kept',
  'damaged',
] as const;
/** The unjudged statuses the summary counts apart: files that will stay as they are. */
export const excludedStatuses = ['unreadable', 'kept', 'damaged'] as const;

/** Compliance of one library. */
export interface LibraryCompliance {
  library: string;
  /** Files with a plan (every status except {@link unjudgedStatuses}). */
  judged: number;
  conforming: number;
  /** conforming / judged × 100, one decimal; 100 when nothing was judged yet. */
  percent: number;
}

/** Compliance per library, by library path. */
export async function complianceByLibrary(
  db: Kysely<ReadModelSchema>,
): Promise<LibraryCompliance[]> {
  return complianceOf(await fileCountRows(db));
}

/** Compliance per library from the file counts, by library path. Pure. */
function complianceOf(rows: readonly FileCountsTable[]): LibraryCompliance[] {
  const byLibrary = new Map<string, { judged: number; conforming: number }>();
  for (const r of rows) {
    const lib = byLibrary.get(r.library) ?? { judged: 0, conforming: 0 };
    byLibrary.set(r.library, lib);
    if ((unjudgedStatuses as readonly string[]).includes(r.status)) continue;
    lib.judged += r.files;
    if ((conformingStatuses as readonly string[]).includes(r.status)) lib.conforming += r.files;
  }
  return [...byLibrary.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([library, c]) => ({ library, ...c, percent: percentOf(c.conforming, c.judged) }));
}

/** An encode that is running now. */
export interface ActiveEncode {
  fileId: string;
  path: string;
  library: string;
  encoder: string;
  attempt: number;
  startedAt: string;
  durationSec: number | null;
}

/** What the status page and `conform status` show at the top. */
export interface Summary {
  total: number;
  counts: Record<string, number>;
  compliance: {
    judged: number;
    conforming: number;
    percent: number;
    /** Files left out of the percentage because they cannot be judged, by status. */
    excluded: Record<(typeof excludedStatuses)[number], number>;
  };
  bytesSaved: number;
  /** Files planned for an encode and not started yet. */
  queueDepth: number;
  activeEncodes: ActiveEncode[];
  deadLetters: number;
  appliedSequence: number;
}

/** The whole summary in one read. */
export async function readSummary(db: Kysely<ReadModelSchema>): Promise<Summary> {
  const fileCounts = await fileCountRows(db);
  const counts = statusCountsOf(fileCounts);
  const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
  const libraries = complianceOf(fileCounts);
  const judged = libraries.reduce((s, l) => s + l.judged, 0);
  const conforming = libraries.reduce((s, l) => s + l.conforming, 0);
  const active = await db
    .selectFrom('jobs')
    .innerJoin('files', 'files.file_id', 'jobs.file_id')
    .select([
      'jobs.file_id',
      'jobs.path',
      'jobs.library',
      'jobs.encoder',
      'jobs.attempt',
      'jobs.started_at',
      'files.duration_sec',
    ])
    .where('jobs.outcome', '=', 'running')
    .where('files.status', '=', 'encoding')
    .orderBy('jobs.started_at')
    .execute();
  const deadLetters = await db
    .selectFrom('dead_letters')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst();
  const checkpoint = await db
    .selectFrom('checkpoints')
    .select((eb) => eb.fn.max('position').as('p'))
    .executeTakeFirst();
  return {
    total,
    counts,
    compliance: {
      judged,
      conforming,
      percent: percentOf(conforming, judged),
      excluded: {
        unreadable: counts.unreadable ?? 0,
        kept: counts.kept ?? 0,
        damaged: counts.damaged ?? 0,
      },
    },
    bytesSaved: await totalBytesSaved(db),
    queueDepth: counts.queued ?? 0,
    activeEncodes: active.map((a) => ({
      fileId: a.file_id,
      path: a.path,
      library: a.library,
      encoder: a.encoder,
      attempt: a.attempt,
      startedAt: a.started_at,
      durationSec: a.duration_sec,
    })),
    deadLetters: Number(deadLetters?.n ?? 0),
    appliedSequence: Number(checkpoint?.p ?? 0),
  };
}

function percentOf(part: number, whole: number): number {
  return whole === 0 ? 100 : Math.round((part / whole) * 1000) / 10;
}
