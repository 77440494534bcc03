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

/** Every table of the read-model database. */
export interface ReadModelSchema {
  files: FilesTable;
  dead_letters: DeadLettersTable;
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
