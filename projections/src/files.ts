import { type CompiledQuery, sql, type Kysely } from 'kysely';
import {
  assertNever,
  failedOnSizeOnly,
  type EventEnvelope,
  type EventType,
  type MediaSummary,
} from '@conform/contracts';
import { fileCountsDdl, fileCountsRecount } from './file-counts.js';
import { statement, type Projection } from './projection.js';
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
  'kept',
  'damaged',
  'restored',
  'dead-lettered',
  'removed',
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
  /** Why the file is in this status; absent means none (a stale reason must not linger). */
  reason?: string;
  bytesSaved?: number;
  archivePath?: string;
  media?: MediaSummary;
  durationSec?: number;
  sizeBytes?: number;
}

/**
 * How an event moves its file along (null: it does not); pure, so every event type's effect is
 * unit-tested.
 */
export function fileChangeFor(event: EventEnvelope): FileChange | null {
  // Object.assign rather than a spread, and the plan's change built whole: in a replay this
  // runs once per event, and V8's object spread was a few per cent of the writer thread.
  const located = (status: FileStatus, extra: Partial<FileChange>): FileChange =>
    Object.assign({ status, createIfMissing: true }, extra);
  switch (event.type) {
    case 'file.discovered':
    case 'file.changed':
    case 'file.moved':
      return located('discovered', { path: event.data.path, library: event.data.library });
    case 'file.removed':
      return located('removed', { path: event.data.path, library: event.data.library });
    case 'file.probed':
      return located('probed', {
        path: event.data.path,
        library: event.data.library,
        media: event.data.media,
        sizeBytes: event.data.source.size,
      });
    case 'file.planned': {
      const { decision, reasons, policyVersion, path, library, durationSec } = event.data;
      const change: FileChange = {
        status: planStatus(decision, event.data.heldBy),
        createIfMissing: true,
        path,
        library,
        policyVersion,
      };
      if (durationSec !== null) change.durationSec = durationSec;
      // The plan's reasons are why it is queued, skipped or compliant.
      if (reasons.length > 0) change.reason = reasons.join('; ');
      return change;
    }
    case 'file.unreadable':
      return located('unreadable', {
        path: event.data.path,
        library: event.data.library,
        reason: event.data.reason,
      });
    case 'encode.started':
      return located('encoding', { path: event.data.path, library: event.data.library });
    case 'encode.requeued':
      // Back in the queue, not a dead encode: the reason says what it waits for.
      return located('queued', {
        path: event.data.path,
        library: event.data.library,
        reason: `waiting (${event.data.reason}): ${event.data.detail}`,
      });
    case 'encode.completed':
      return located('encoded', { path: event.data.path, library: event.data.library });
    case 'encode.failed':
      if (event.data.sizeGuard) {
        // The archiver's file.kept follows; the outcome is already known.
        return located('kept', {
          path: event.data.path,
          library: event.data.library,
          reason: event.data.reason,
        });
      }
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
      if (failedOnSizeOnly(event.data.checks)) {
        return located('kept', {
          path: event.data.path,
          library: event.data.library,
          reason: `no saving worth the swap: ${detail}`,
        });
      }
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
    case 'file.kept':
      return located('kept', {
        path: event.data.path,
        library: event.data.library,
        reason: event.data.reason,
      });
    case 'file.restored':
      return located('restored', { path: event.data.path, library: event.data.library });
    case 'restore.failed':
    case 'original.deleted':
      // The file stays where it was (replaced); the failures model records a failed restore.
      return null;
    case 'message.deadlettered':
      return { status: 'dead-lettered', createIfMissing: false, reason: event.data.reason };
    case 'control.requested':
    case 'encoder.paused':
    case 'encoder.resumed':
    case 'playback.started':
    case 'playback.ended':
      // A request changes nothing by itself, the events it causes do; pauses are node state.
      return null;
    case 'notify.sent':
    case 'notify.failed':
      // Telling the media stack about a file does not change the file's own status.
      return null;
    default:
      return assertNever(event, 'event');
  }
}

type PlanData = Extract<EventEnvelope, { type: 'file.planned' }>['data'];

/** The status a plan puts its file in. */
function planStatus(decision: PlanData['decision'], heldBy: PlanData['heldBy']): FileStatus {
  switch (decision) {
    case 'encode':
    case 'remux':
      return 'queued';
    case 'skip':
      // A skip that only holds an earlier outcome keeps showing that outcome.
      return heldBy ?? 'skipped';
    case 'compliant':
      return 'compliant';
    case 'damaged':
      return 'damaged';
    default:
      return assertNever(decision, 'plan decision');
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
      .addColumn('container', 'text')
      .addColumn('video_codec', 'text')
      .addColumn('width', 'integer')
      .addColumn('height', 'integer')
      .addColumn('duration_sec', 'real')
      .addColumn('size_bytes', 'integer')
      .compile(),
    // One index per sort order of the Files view, so a page of 100,000 files is an index walk
    // (filter by status or library, then order by path) rather than a sort of the whole table.
    // Ties are broken by the rowid, which every index entry ends with already: ending each
    // index with the 64-character file id as well made the five indexes a fifth of the file
    // and their build the largest step of a bulk catch-up (docs/benchmarks/replay.md).
    ...(
      [
        ['files_status_path', ['status', 'library', 'path']],
        ['files_library_path', ['library', 'path']],
        ['files_size', ['size_bytes']],
        ['files_saved', ['bytes_saved']],
        ['files_sequence', ['last_sequence']],
      ] as const
    ).map(([name, columns]) =>
      queryBuilder.schema
        .createIndex(name)
        .ifNotExists()
        .on('files')
        .columns([...columns])
        .compile(),
    ),
    ...fileCountsDdl(),
  ],
  afterBulkLoad: fileCountsRecount,
  evolve(event, position): CompiledQuery[] {
    const change = fileChangeFor(event);
    if (!change) return [];
    const video = change.media?.video ?? null;
    // null means "keep what the row has" (coalesce in the SQL), so one statement serves every
    // event type and stays prepared during a replay.
    const params = [
      event.fileId,
      change.path ?? null,
      change.library ?? null,
      change.status,
      event.type,
      event.id,
      position,
      event.time,
      change.reason ?? null,
      change.policyVersion ?? null,
      change.bytesSaved ?? null,
      change.archivePath ?? null,
      change.media?.container ?? null,
      video?.codec ?? null,
      video?.width ?? null,
      video?.height ?? null,
      change.media?.durationSec ?? change.durationSec ?? null,
      change.sizeBytes ?? null,
    ];
    const upsert =
      change.createIfMissing && change.path !== undefined && change.library !== undefined;
    return [statement(upsert ? UPSERT_FILE : UPDATE_FILE, params)];
  },
  combine: combineFileWrites,
};

/**
 * Two writes to one file's row as one (see Projection.combine): the later event's status
 * columns, and for the kept columns the later value unless it is null (what the statements'
 * coalesce does). An update that waits is folded into a later update only: were it followed by
 * an upsert and the row absent, the update would do nothing and the upsert insert.
 */
export function combineFileWrites(
  earlier: CompiledQuery,
  later: CompiledQuery,
): CompiledQuery | null {
  if (earlier.sql === UPDATE_FILE && later.sql !== UPDATE_FILE) return null;
  const params = [...earlier.parameters];
  const next = later.parameters;
  for (let i = 0; i < ALL_COLUMNS.length; i++) {
    if (SET_INDEXES.has(i) || next[i] !== null) params[i] = next[i];
  }
  return statement(earlier.sql, params);
}

// The reason is set by every event that moves the file: the reason of a failure that a later
// plan or encode overtook would otherwise stay on a compliant file.
const SET_COLUMNS = [
  'status',
  'last_event_type',
  'last_event_id',
  'last_sequence',
  'updated_at',
  'reason',
];
const KEPT_COLUMNS = [
  'policy_version',
  'bytes_saved',
  'archive_path',
  'container',
  'video_codec',
  'width',
  'height',
  'duration_sec',
  'size_bytes',
];
/** Parameter order of both statements. */
const ALL_COLUMNS = ['file_id', 'path', 'library', ...SET_COLUMNS, ...KEPT_COLUMNS];
/** Positions in ALL_COLUMNS of the columns every write sets (the rest keep a non-null value). */
const SET_INDEXES = new Set(SET_COLUMNS.map((c) => ALL_COLUMNS.indexOf(c)));
const UPSERT_FILE =
  `insert into files (${ALL_COLUMNS.join(', ')}) ` +
  `values (${ALL_COLUMNS.map(() => '?').join(', ')}) on conflict (file_id) do update set ` +
  [
    ...SET_COLUMNS.map((c) => `${c} = excluded.${c}`),
    ...['path', 'library', ...KEPT_COLUMNS].map(
      (c) => `${c} = coalesce(excluded.${c}, files.${c})`,
    ),
  ].join(', ');
// Same parameters, from a one-row CTE, for events that must not create a row.
const UPDATE_FILE =
  `with v (${ALL_COLUMNS.join(', ')}) as (values (${ALL_COLUMNS.map(() => '?').join(', ')})) ` +
  'update files set ' +
  [
    ...SET_COLUMNS.map((c) => `${c} = (select ${c} from v)`),
    ...['path', 'library', ...KEPT_COLUMNS].map(
      (c) => `${c} = coalesce((select ${c} from v), files.${c})`,
    ),
  ].join(', ') +
  ' where file_id = (select file_id from v)';

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
  /** From the last probe; null until the file was probed. */
  media: {
    container: string | null;
    videoCodec: string | null;
    width: number | null;
    height: number | null;
    durationSec: number | null;
  };
  sizeBytes: number | null;
}

/**
 * How {@link listFiles} can order files; every order ends with the order the files were first
 * seen in (the rowid, the same in a replayed file), so pages are stable.
 */
export const fileSortKeys = ['path', 'status', 'size', 'saved', 'updated'] as const;
/** One of {@link fileSortKeys}. */
export type FileSortKey = (typeof fileSortKeys)[number];

const SORT_COLUMNS: Record<FileSortKey, readonly (keyof FilesTable)[]> = {
  path: ['library', 'path'],
  status: ['status', 'library', 'path'],
  size: ['size_bytes'],
  saved: ['bytes_saved'],
  updated: ['last_sequence'],
};

/** Which files {@link listFiles} returns; `limit` defaults to 100, the order to path ascending. */
export interface FileFilter {
  status?: string;
  library?: string;
  /** Part of the path, case-insensitive (ASCII); `%` and `_` match themselves. */
  search?: string;
  sort?: FileSortKey;
  order?: 'asc' | 'desc';
  limit?: number;
  offset?: number;
}

function filteredFiles(db: Kysely<ReadModelSchema>, filter: FileFilter) {
  let query = db.selectFrom('files');
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  if (filter.library !== undefined) query = query.where('library', '=', filter.library);
  if (filter.search !== undefined && filter.search !== '') {
    const pattern = `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where(sql<boolean>`path like ${pattern} escape '\\'`);
  }
  return query;
}

/** The query {@link listFiles} runs (exported so a test can read SQLite's plan of it). */
export function listFilesQuery(db: Kysely<ReadModelSchema>, filter: FileFilter = {}) {
  const order = filter.order ?? 'asc';
  let query = filteredFiles(db, filter).selectAll();
  for (const column of SORT_COLUMNS[filter.sort ?? 'path']) query = query.orderBy(column, order);
  return query
    .orderBy(sql`files.rowid`, order)
    .limit(filter.limit ?? 100)
    .offset(filter.offset ?? 0);
}

/** Files matching the filter, in the asked order. */
export async function listFiles(
  db: Kysely<ReadModelSchema>,
  filter: FileFilter = {},
): Promise<FileRow[]> {
  const rows = await listFilesQuery(db, filter).execute();
  return rows.map(toFileRow);
}

/** How many files match the filter (for paging); ignores sort, limit and offset. */
export async function countFiles(
  db: Kysely<ReadModelSchema>,
  filter: FileFilter = {},
): Promise<number> {
  const row = await filteredFiles(db, filter)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
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
    media: {
      container: row.container,
      videoCodec: row.video_codec,
      width: row.width,
      height: row.height,
      durationSec: row.duration_sec,
    },
    sizeBytes: row.size_bytes,
  };
}
