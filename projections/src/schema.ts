import {
  DummyDriver,
  Kysely,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';

/** One row per file: where it is and how far through the pipeline it got. */
export interface FilesTable {
  file_id: string;
  path: string;
  library: string;
  status: string;
  last_event_type: string;
  last_event_id: string;
  last_sequence: number;
  /** Time of the last event (producer clock), ISO-8601. */
  updated_at: string;
  policy_version: string | null;
  /** Last failure, skip or unreadable reason; kept until another one replaces it. */
  reason: string | null;
  bytes_saved: number | null;
  archive_path: string | null;
  /** Media summary from the last probe (null until probed). */
  container: string | null;
  video_codec: string | null;
  width: number | null;
  height: number | null;
  duration_sec: number | null;
  /** Source size in bytes when last discovered or probed. */
  size_bytes: number | null;
}

/** One encode attempt of one file, and what became of its output. */
export interface JobsTable {
  file_id: string;
  attempt: number;
  path: string;
  library: string;
  encoder: string;
  /** running, requeued, encoded, failed, verified, rejected, replaced, replace-failed. */
  outcome: string;
  started_at: string;
  finished_at: string | null;
  elapsed_ms: number | null;
  output_size: number | null;
  /** Media seconds encoded per wall-clock second (1.0 is real time). */
  speed: number | null;
  /** Frames per second, when the encoder reported it. */
  fps: number | null;
  reason: string | null;
  sequence: number;
}

/** Bytes saved per library and UTC day of replacement (restores subtract). */
export interface SavingsTable {
  library: string;
  day: string;
  files_replaced: number;
  files_restored: number;
  bytes_saved: number;
  original_bytes: number;
  new_bytes: number;
}

/** Every failure event: encode, verification, replacement, restore or an unreadable source. */
export interface FailuresTable {
  event_id: string;
  file_id: string;
  path: string;
  library: string;
  /** The event type that reported it. */
  kind: string;
  reason: string;
  time: string;
  sequence: number;
}

/** Every message.deadlettered event, whether or not its file is known. */
export interface DeadLettersTable {
  event_id: string;
  file_id: string;
  subject: string;
  stream_sequence: number;
  consumer: string;
  deliveries: number;
  reason: string;
  payload: string;
  time: string;
  sequence: number;
}

/** Last stream sequence each projector applied, written in the same transaction as its rows. */
export interface CheckpointsTable {
  projector: string;
  position: number;
}

/**
 * How many files of each library are in each status, kept by triggers on `files`
 * (file-counts.ts) so the summary reads a few rows instead of counting the whole table.
 */
export interface FileCountsTable {
  library: string;
  status: string;
  files: number;
}

/** Every table of the read-model database. */
export interface ReadModelSchema {
  files: FilesTable;
  file_counts: FileCountsTable;
  dead_letters: DeadLettersTable;
  jobs: JobsTable;
  savings: SavingsTable;
  failures: FailuresTable;
  checkpoints: CheckpointsTable;
}

/**
 * Builds and compiles SQLite queries without a database, so projections stay pure functions
 * from events to writes and the I/O happens only where writes are executed.
 */
export const queryBuilder = new Kysely<ReadModelSchema>({
  dialect: {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  },
});
