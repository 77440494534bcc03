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
export const READ_MODEL_SCHEMA_VERSION = 3;

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
