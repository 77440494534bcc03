import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { checkpointTableDdl, readModelProjections } from './checkpoint.js';
import { ReadModelOpenError } from './errors.js';
import type { ReadModelSchema } from './schema.js';

/** An open read-model database. */
export interface ReadModels {
  db: Kysely<ReadModelSchema>;
  /** The raw handle, for batched synchronous writes (`applyBatch`); the path it opened. */
  sqlite: Database.Database;
  path: string;
  close(): Promise<void>;
}

/** WAL pages after which a commit checkpoints (see openReadModels); SQLite's default is 1,000. */
export const WAL_AUTOCHECKPOINT_PAGES = 16_384;

/**
 * Opens (creating if needed) the read-model SQLite file and its tables. `':memory:'` gives a
 * private in-memory database. WAL lets the status server read while the projector writes.
 */
export function openReadModels(path: string): ReadModels {
  let sqlite: Database.Database;
  try {
    sqlite = new Database(path);
  } catch (err) {
    throw new ReadModelOpenError(`cannot open read models at ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    sqlite.pragma('journal_mode = WAL');
    // Another process (the CLI's `status`, a second reader) may hold the lock for a moment.
    sqlite.pragma('busy_timeout = 5000');
    // A lost last transaction after power loss is harmless: rows and checkpoint roll back
    // together and the projector re-applies from the stream.
    sqlite.pragma('synchronous = NORMAL');
    // SQLite checkpoints the WAL into the file at the commit that takes it past this many pages.
    // At its default (1,000 pages, 4 MiB) a discovering `conform up` checkpointed at nearly
    // every transaction of the live projector (a few hundred files each, their rows and index
    // entries on pages all over the file), so each page was written twice and the file synced
    // per commit: 100,000 files took 4.8 s in commits (185 transactions) and 21.3 CPU s in all;
    // at 16,384 pages (a WAL of up to 64 MiB) 3.2 s and 18.4 CPU s, discovery 20.7 → 17.6 s
    // (docs/benchmarks/discovery.md).
    sqlite.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    // A write that fires the file_counts triggers keeps a statement journal (to undo that one
    // statement on an error); in a temporary file, that cost about 18 µs per files write,
    // against 4 µs in memory (file-counts.ts). Journals are a statement's size.
    sqlite.pragma('temp_store = MEMORY');
    dropIfOutdated(sqlite);
    const ddl = [...checkpointTableDdl(), ...readModelProjections.flatMap((p) => p.init())];
    sqlite.transaction(() => {
      for (const q of ddl) sqlite.prepare(q.sql).run(...(q.parameters as unknown[]));
    })();
  } catch (err) {
    sqlite.close();
    throw new ReadModelOpenError(
      `cannot create read-model tables in ${path}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const db = new Kysely<ReadModelSchema>({ dialect: new SqliteDialect({ database: sqlite }) });
  let closed: Promise<void> | null = null;
  return {
    db,
    sqlite,
    path,
    // Kysely only closes a database it has used, so close the handle ourselves as well.
    close: () =>
      (closed ??= db.destroy().then(() => {
        if (sqlite.open) sqlite.close();
      })),
  };
}

/**
 * Bumped whenever a table changes shape. The read models are disposable (invariant 3): a file
 * written by another version is emptied and the projector rebuilds it from sequence 1.
 */
export const READ_MODEL_SCHEMA_VERSION = 5;

function dropIfOutdated(sqlite: Database.Database): void {
  const version = sqlite.pragma('user_version', { simple: true }) as number;
  if (version === READ_MODEL_SCHEMA_VERSION) return;
  const tables = sqlite
    .prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%'")
    .all() as { name: string }[];
  sqlite.transaction(() => {
    for (const { name } of tables) sqlite.exec(`drop table if exists "${name}"`);
  })();
  sqlite.pragma(`user_version = ${READ_MODEL_SCHEMA_VERSION}`);
}
