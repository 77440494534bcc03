import type { Kysely } from 'kysely';
import type { EventType } from '@conform/contracts';
import { statement, type Projection } from './projection.js';
import { queryBuilder, type JobsTable, type ReadModelSchema } from './schema.js';

const jobEvents = new Set<EventType>([
  'encode.started',
  'encode.completed',
  'encode.failed',
  'encode.requeued',
  'verify.passed',
  'verify.failed',
  'file.replaced',
  'replace.failed',
  'file.kept',
]);

const START_JOB =
  'insert into jobs (file_id, attempt, path, library, encoder, outcome, started_at, sequence) ' +
  "values (?, ?, ?, ?, ?, 'running', ?, ?) on conflict (file_id, attempt) do update set " +
  "encoder = excluded.encoder, outcome = 'running', started_at = excluded.started_at, " +
  'finished_at = null, elapsed_ms = null, reason = null, sequence = excluded.sequence';

// Outcomes after the start apply to the file's latest attempt (parameters: file id twice).
// better-sqlite3 binds only anonymous `?` from an array, so repeated values are repeated.
const LATEST = 'where file_id = ? and attempt = (select max(attempt) from jobs where file_id = ?)';

// Speed is media seconds per wall second: from the source's duration the encode passes on from
// its plan, or, in events from before it did, the probed duration the files model holds.
const FINISHED =
  "update jobs set outcome = 'encoded', finished_at = ?, elapsed_ms = ?, output_size = ?, " +
  'encoder = ?, fps = ?, sequence = ?, ';
const FINISH_JOB = `${FINISHED}speed = ? * 1000.0 / nullif(?, 0) ${LATEST}`;
// Reading the files row makes a bulk write run every files write waiting before it first
// (eventWriter), which stops folding a file's writes at each encode: only for old events.
const FINISH_JOB_FROM_PROBE =
  `${FINISHED}speed = (select duration_sec * 1000.0 / nullif(?, 0) ` +
  `from files where files.file_id = ?) ${LATEST}`;

const FAIL_JOB =
  "update jobs set outcome = 'failed', finished_at = ?, reason = ?, sequence = ?, " +
  `elapsed_ms = cast(round((julianday(?) - julianday(started_at)) * 86400000) as integer) ${LATEST}`;

const SET_OUTCOME = `update jobs set outcome = ?, reason = coalesce(?, reason), sequence = ? ${LATEST}`;

/** The `jobs` read model: one row per encode attempt, followed through verify and replace. */
export const jobsProjection: Projection = {
  name: 'jobs',
  canHandle: (type) => jobEvents.has(type),
  init: () => [
    queryBuilder.schema
      .createTable('jobs')
      .ifNotExists()
      .addColumn('file_id', 'text', (c) => c.notNull())
      .addColumn('attempt', 'integer', (c) => c.notNull())
      .addColumn('path', 'text', (c) => c.notNull())
      .addColumn('library', 'text', (c) => c.notNull())
      .addColumn('encoder', 'text', (c) => c.notNull())
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('finished_at', 'text')
      .addColumn('elapsed_ms', 'integer')
      .addColumn('output_size', 'integer')
      .addColumn('speed', 'real')
      .addColumn('fps', 'real')
      .addColumn('reason', 'text')
      .addColumn('sequence', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('jobs_pk', ['file_id', 'attempt'])
      .compile(),
    queryBuilder.schema
      .createIndex('jobs_outcome')
      .ifNotExists()
      .on('jobs')
      .column('outcome')
      .compile(),
  ],
  evolve(event, position) {
    const outcome = (value: string, reason: string | null = null) => [
      statement(SET_OUTCOME, [value, reason, position, event.fileId, event.fileId]),
    ];
    switch (event.type) {
      case 'encode.started': {
        const d = event.data;
        return [
          statement(START_JOB, [
            event.fileId,
            d.attempt,
            d.path,
            d.library,
            d.encoder,
            event.time,
            position,
          ]),
        ];
      }
      case 'encode.completed': {
        const d = event.data;
        const finished = [
          event.time,
          d.elapsedMs,
          d.outputSize,
          d.encoder,
          // Events from before fps was recorded have none: the job keeps a null rate.
          d.fps ?? null,
          position,
        ];
        const latest = [event.fileId, event.fileId];
        return [
          d.durationSec === undefined
            ? statement(FINISH_JOB_FROM_PROBE, [...finished, d.elapsedMs, event.fileId, ...latest])
            : statement(FINISH_JOB, [...finished, d.durationSec, d.elapsedMs, ...latest]),
        ];
      }
      case 'encode.failed':
        return [
          statement(FAIL_JOB, [
            event.time,
            event.data.reason,
            position,
            event.time,
            event.fileId,
            event.fileId,
          ]),
        ];
      case 'encode.requeued':
        // A stopped run is not running any more; one that waited before starting has no row.
        return event.data.abandoned
          ? outcome('requeued', `${event.data.reason}: ${event.data.detail}`)
          : [];
      case 'verify.passed':
        return outcome('verified');
      case 'verify.failed': {
        const failed = event.data.checks.filter((c) => !c.passed).map((c) => c.name);
        return outcome('rejected', `failed checks: ${failed.join(', ') || 'none passed'}`);
      }
      case 'file.replaced':
        return outcome('replaced');
      case 'replace.failed':
        return outcome('replace-failed', event.data.reason);
      case 'file.kept':
        // The attempt ended with the original kept: not a failure of the job.
        return outcome('kept', event.data.reason);
      default:
        return [];
    }
  },
};

/** An encode attempt as the read model knows it. */
export interface JobRow {
  fileId: string;
  attempt: number;
  path: string;
  library: string;
  encoder: string;
  outcome: string;
  startedAt: string;
  finishedAt: string | null;
  elapsedMs: number | null;
  outputSize: number | null;
  speed: number | null;
  fps: number | null;
  reason: string | null;
  sequence: number;
}

/** Which jobs {@link listJobs} returns, newest first; `limit` defaults to 100. */
export interface JobFilter {
  outcome?: string;
  fileId?: string;
  limit?: number;
  offset?: number;
}

/** Encode attempts, most recently changed first. */
export async function listJobs(
  db: Kysely<ReadModelSchema>,
  filter: JobFilter = {},
): Promise<JobRow[]> {
  let query = db.selectFrom('jobs').selectAll();
  if (filter.outcome !== undefined) query = query.where('outcome', '=', filter.outcome);
  if (filter.fileId !== undefined) query = query.where('file_id', '=', filter.fileId);
  const rows = await query
    .orderBy('sequence', 'desc')
    .limit(filter.limit ?? 100)
    .offset(filter.offset ?? 0)
    .execute();
  return rows.map(toJobRow);
}

function toJobRow(r: JobsTable): JobRow {
  return {
    fileId: r.file_id,
    attempt: r.attempt,
    path: r.path,
    library: r.library,
    encoder: r.encoder,
    outcome: r.outcome,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    elapsedMs: r.elapsed_ms,
    outputSize: r.output_size,
    speed: r.speed,
    fps: r.fps,
    reason: r.reason,
    sequence: r.sequence,
  };
}
