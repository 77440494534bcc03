import type { Kysely } from 'kysely';
import { failedOnSizeOnly, type EventType } from '@conform/contracts';
import { statement, type Projection } from './projection.js';
import { queryBuilder, type ReadModelSchema } from './schema.js';

const failureEvents = new Set<EventType>([
  'file.unreadable',
  'encode.failed',
  'verify.failed',
  'replace.failed',
  'restore.failed',
]);

const RECORD_FAILURE =
  'insert into failures (event_id, file_id, path, library, kind, reason, time, sequence) ' +
  'values (?, ?, ?, ?, ?, ?, ?, ?) on conflict (event_id) do nothing';

/** The `failures` read model: every failure event, kept after the file moves on. */
export const failuresProjection: Projection = {
  name: 'failures',
  canHandle: (type) => failureEvents.has(type),
  init: () => [
    queryBuilder.schema
      .createTable('failures')
      .ifNotExists()
      .addColumn('event_id', 'text', (c) => c.primaryKey())
      .addColumn('file_id', 'text', (c) => c.notNull())
      .addColumn('path', 'text', (c) => c.notNull())
      .addColumn('library', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('time', 'text', (c) => c.notNull())
      .addColumn('sequence', 'integer', (c) => c.notNull())
      .compile(),
    queryBuilder.schema
      .createIndex('failures_file')
      .ifNotExists()
      .on('failures')
      .column('file_id')
      .compile(),
  ],
  evolve(event, position) {
    let reason: string;
    switch (event.type) {
      case 'encode.failed':
        // The size guard stopping an encode keeps the original: an outcome, not a failure.
        if (event.data.sizeGuard) return [];
        reason = event.data.reason;
        break;
      case 'file.unreadable':
      case 'replace.failed':
      case 'restore.failed':
        reason = event.data.reason;
        break;
      case 'verify.failed':
        if (failedOnSizeOnly(event.data.checks)) return [];
        reason = event.data.checks
          .filter((c) => !c.passed)
          .map((c) => `${c.name} measured ${String(c.measured)}, limit ${String(c.limit)}`)
          .join('; ');
        break;
      default:
        return [];
    }
    return [
      statement(RECORD_FAILURE, [
        event.id,
        event.fileId,
        event.data.path,
        event.data.library,
        event.type,
        reason,
        event.time,
        position,
      ]),
    ];
  },
};

/** A failure as the read model knows it; `open` when the file is still failed or dead-lettered. */
export interface FailureRow {
  eventId: string;
  fileId: string;
  path: string;
  library: string;
  kind: string;
  reason: string;
  time: string;
  sequence: number;
  /** The file's current status (null when the file row is unknown). */
  fileStatus: string | null;
}

/** Statuses from which a retry makes sense. */
export const retryableStatuses = ['failed', 'dead-lettered', 'unreadable'] as const;

/**
 * Failures, newest first; `fileId`: one file's only. `openOnly`: only each file's latest failure, and only while the file
 * is still in a retryable status (what a person has to act on).
 */
export async function listFailures(
  db: Kysely<ReadModelSchema>,
  opts: { openOnly?: boolean; fileId?: string; limit?: number; offset?: number } = {},
): Promise<FailureRow[]> {
  let query = db
    .selectFrom('failures')
    .leftJoin('files', 'files.file_id', 'failures.file_id')
    .selectAll('failures')
    .select('files.status as file_status');
  if (opts.fileId !== undefined) query = query.where('failures.file_id', '=', opts.fileId);
  if (opts.openOnly) {
    query = query.where('files.status', 'in', [...retryableStatuses]).where((eb) =>
      eb(
        'failures.sequence',
        '=',
        eb
          .selectFrom('failures as latest')
          .select((e) => e.fn.max('latest.sequence').as('m'))
          .whereRef('latest.file_id', '=', 'failures.file_id'),
      ),
    );
  }
  const rows = await query
    .orderBy('failures.sequence', 'desc')
    .limit(opts.limit ?? 100)
    .offset(opts.offset ?? 0)
    .execute();
  return rows.map((r) => ({
    eventId: r.event_id,
    fileId: r.file_id,
    path: r.path,
    library: r.library,
    kind: r.kind,
    reason: r.reason,
    time: r.time,
    sequence: r.sequence,
    fileStatus: r.file_status ?? null,
  }));
}
