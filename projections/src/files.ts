import type { CompiledQuery, Kysely } from 'kysely';
import { assertNever, type EventEnvelope, type EventType } from '@conform/contracts';
import type { Projection } from './projection.js';
import { queryBuilder, type FilesTable, type ReadModelSchema } from './schema.js';

/** Every status a file can have in the read model. */
export const fileStatuses = [
  'discovered',
  'probed',
  'queued',
  'skipped',
  'compliant',
  'unreadable',
  'encoding',
  'encoded',
  'verified',
  'failed',
  'replaced',
  'dead-lettered',
] as const;

/** One of {@link fileStatuses}. */
export type FileStatus = (typeof fileStatuses)[number];

/** What one event changes on its file's row. Absent fields keep their value. */
interface FileChange {
  status: FileStatus;
  /** Dead letters only mark files already known; they carry no path to create a row from. */
  createIfMissing: boolean;
  path?: string;
  library?: string;
  policyVersion?: string;
  reason?: string;
  bytesSaved?: number;
  archivePath?: string;
}

/**
 * How an event moves its file along (null: it does not); pure, so every event type's effect is
 * unit-tested.
 */
export function fileChangeFor(event: EventEnvelope): FileChange | null {
  const located = (status: FileStatus, extra: Partial<FileChange> = {}): FileChange => ({
    status,
    createIfMissing: true,
    ...extra,
  });
  switch (event.type) {
    case 'file.discovered':
      return located('discovered', { path: event.data.path, library: event.data.library });
    case 'file.probed':
      return located('probed', { path: event.data.path, library: event.data.library });
    case 'file.planned': {
      const { decision, reasons, policyVersion, path, library } = event.data;
      const base = { path, library, policyVersion };
      switch (decision) {
        case 'encode':
          return located('queued', base);
        case 'skip':
          return located('skipped', { ...base, reason: reasons.join('; ') });
        case 'compliant':
          return located('compliant', base);
        default:
          return assertNever(decision, 'plan decision');
      }
    }
    case 'file.unreadable':
      return located('unreadable', {
        path: event.data.path,
        library: event.data.library,
        reason: event.data.reason,
      });
    case 'encode.started':
      return located('encoding', { path: event.data.path, library: event.data.library });
    case 'encode.completed':
      return located('encoded', { path: event.data.path, library: event.data.library });
    case 'encode.failed':
      return located('failed', {
        path: event.data.path,
        library: event.data.library,
        reason: `encode failed (${event.data.encoder}): ${event.data.reason}`,
      });
    case 'verify.passed':
      return located('verified', { path: event.data.path, library: event.data.library });
    case 'verify.failed': {
      const failed = event.data.checks.filter((c) => !c.passed);
      const detail = failed
        .map((c) => `${c.name} measured ${String(c.measured)}, limit ${String(c.limit)}`)
        .join('; ');
      return located('failed', {
        path: event.data.path,
        library: event.data.library,
        reason: `verification failed: ${detail || 'no check passed'}`,
      });
    }
    case 'file.replaced':
      return located('replaced', {
        path: event.data.newPath,
        library: event.data.library,
        bytesSaved: event.data.bytesSaved,
        archivePath: event.data.archivePath,
      });
    case 'replace.failed':
      return located('failed', {
        path: event.data.path,
        library: event.data.library,
        reason: `replace failed: ${event.data.reason}`,
      });
    case 'message.deadlettered':
      return { status: 'dead-lettered', createIfMissing: false, reason: event.data.reason };
    case 'control.requested':
      // A request changes nothing by itself; the events it causes do.
      return null;
    default:
      return assertNever(event, 'event');
  }
}

/** The `files` read model: one row per file id with its current status. */
export const filesProjection: Projection = {
  name: 'files',
  canHandle: (_type: EventType) => true,
  init: () => [
    queryBuilder.schema
      .createTable('files')
      .ifNotExists()
      .addColumn('file_id', 'text', (c) => c.primaryKey())
      .addColumn('path', 'text', (c) => c.notNull())
      .addColumn('library', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('last_event_type', 'text', (c) => c.notNull())
      .addColumn('last_event_id', 'text', (c) => c.notNull())
      .addColumn('last_sequence', 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('policy_version', 'text')
      .addColumn('reason', 'text')
      .addColumn('bytes_saved', 'integer')
      .addColumn('archive_path', 'text')
      .compile(),
    queryBuilder.schema
      .createIndex('files_status')
      .ifNotExists()
      .on('files')
      .column('status')
      .compile(),
    queryBuilder.schema
      .createIndex('files_library_path')
      .ifNotExists()
      .on('files')
      .columns(['library', 'path'])
      .compile(),
  ],
  evolve(event, position): CompiledQuery[] {
    const change = fileChangeFor(event);
    if (!change) return [];
    const always = {
      status: change.status,
      last_event_type: event.type,
      last_event_id: event.id,
      last_sequence: position,
      updated_at: event.time,
    };
    const optional: Partial<FilesTable> = {};
    if (change.path !== undefined) optional.path = change.path;
    if (change.library !== undefined) optional.library = change.library;
    if (change.policyVersion !== undefined) optional.policy_version = change.policyVersion;
    if (change.reason !== undefined) optional.reason = change.reason;
    if (change.bytesSaved !== undefined) optional.bytes_saved = change.bytesSaved;
    if (change.archivePath !== undefined) optional.archive_path = change.archivePath;

    if (!change.createIfMissing || change.path === undefined || change.library === undefined) {
      return [
        queryBuilder
          .updateTable('files')
          .set({ ...always, ...optional })
          .where('file_id', '=', event.fileId)
          .compile(),
      ];
    }
    return [
      queryBuilder
        .insertInto('files')
        .values({
          file_id: event.fileId,
          path: change.path,
          library: change.library,
          policy_version: null,
          reason: null,
          bytes_saved: null,
          archive_path: null,
          ...optional,
          ...always,
        })
        .onConflict((oc) => oc.column('file_id').doUpdateSet({ ...always, ...optional }))
        .compile(),
    ];
  },
};

/** A file as the read model knows it. */
export interface FileRow {
  fileId: string;
  path: string;
  library: string;
  status: string;
  lastEventType: string;
  lastEventId: string;
  lastSequence: number;
  /** Time of the last event, ISO-8601. */
  updatedAt: string;
  policyVersion: string | null;
  reason: string | null;
  bytesSaved: number | null;
  archivePath: string | null;
}

/** Which files {@link listFiles} returns; `limit` defaults to 100. */
export interface FileFilter {
  status?: string;
  library?: string;
  limit?: number;
  offset?: number;
}

/** Files matching the filter, ordered by library and path so pages are stable. */
export async function listFiles(
  db: Kysely<ReadModelSchema>,
  filter: FileFilter = {},
): Promise<FileRow[]> {
  let query = db.selectFrom('files').selectAll();
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  if (filter.library !== undefined) query = query.where('library', '=', filter.library);
  const rows = await query
    .orderBy('library')
    .orderBy('path')
    .orderBy('file_id')
    .limit(filter.limit ?? 100)
    .offset(filter.offset ?? 0)
    .execute();
  return rows.map(toFileRow);
}

/** One file by id, or null. */
export async function getFile(
  db: Kysely<ReadModelSchema>,
  fileId: string,
): Promise<FileRow | null> {
  const row = await db
    .selectFrom('files')
    .selectAll()
    .where('file_id', '=', fileId)
    .executeTakeFirst();
  return row ? toFileRow(row) : null;
}

/** How many files are in each status; statuses with no files are absent. */
export async function fileStatusCounts(
  db: Kysely<ReadModelSchema>,
): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('files')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('status')
    .orderBy('status')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

function toFileRow(row: FilesTable): FileRow {
  return {
    fileId: row.file_id,
    path: row.path,
    library: row.library,
    status: row.status,
    lastEventType: row.last_event_type,
    lastEventId: row.last_event_id,
    lastSequence: row.last_sequence,
    updatedAt: row.updated_at,
    policyVersion: row.policy_version,
    reason: row.reason,
    bytesSaved: row.bytes_saved,
    archivePath: row.archive_path,
  };
}
