import type Database from 'better-sqlite3';
import { readModelProjections } from './checkpoint.js';
import { openReadModels, type ReadModels } from './read-models.js';

/** A read-model file opened for a bulk load; `finish` makes it an ordinary live file. */
export interface StagingReadModels {
  readModels: ReadModels;
  /** Creates the secondary indexes dropped for the load and restores the live settings. */
  finish(): void;
}

/** Page cache of a bulk load's connection: the whole working set of a 1,000,000-event log. */
const BULK_CACHE_KIB = 131_072;

/**
 * Opens a fresh read-model file for a bulk build nobody reads yet: no journal and no fsync (a
 * crash means starting the replay again; the live file is elsewhere), a large page cache, and
 * the secondary indexes dropped, to be built once at the end rather than updated on every
 * event (every event moves its file's status and sequence, so each would touch several of
 * them). Primary keys stay: the projections' upserts look rows up by them.
 */
export function openForRebuild(path: string): StagingReadModels {
  const readModels = openReadModels(path);
  const { sqlite } = readModels;
  sqlite.pragma('journal_mode = OFF');
  sqlite.pragma('synchronous = OFF');
  sqlite.pragma('locking_mode = EXCLUSIVE');
  sqlite.pragma(`cache_size = -${BULK_CACHE_KIB}`);
  const indexes = dropSecondaryIndexes(sqlite);
  // The triggers keeping derived tables (file_counts) go too: each derived table is
  // recomputed once at the end rather than kept per row.
  const triggers = dropTriggers(sqlite);
  const recount = readModelProjections.flatMap((p) => p.afterBulkLoad?.() ?? []);
  return {
    readModels,
    finish() {
      runSchemaStatements(sqlite, [
        ...indexes.map((i) => i.sql),
        ...triggers.map((t) => t.sql),
        ...recount.map((q) => q.sql),
      ]);
      sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('locking_mode = NORMAL');
    },
  };
}

/**
 * Opens the live read-model file for a projector that is far behind the log, on a connection
 * of its own: WAL as always (the status server keeps reading its own connection, and every
 * commit carries its checkpoint, so a crash leaves rows and checkpoint together), a large page
 * cache, and with `dropIndexes` the secondary indexes dropped until `finish` (worth it when the
 * load writes more rows than the tables hold; readers meanwhile scan). `finish` creates every
 * index the read models define that is missing (also those a failed earlier load dropped), and
 * a crash before it loses none for good: opening the file creates missing ones too.
 */
export function openForCatchUp(path: string, opts: { dropIndexes: boolean }): StagingReadModels {
  const readModels = openReadModels(path);
  const { sqlite } = readModels;
  sqlite.pragma(`cache_size = -${BULK_CACHE_KIB}`);
  if (opts.dropIndexes) dropSecondaryIndexes(sqlite);
  const ddl = readModelProjections.flatMap((p) => p.init()).map((q) => q.sql);
  return {
    readModels,
    finish: () => runSchemaStatements(sqlite, ddl),
  };
}

interface SchemaObject {
  name: string;
  sql: string;
}

function dropSecondaryIndexes(sqlite: Database.Database): SchemaObject[] {
  return dropAll(sqlite, 'index');
}

function dropTriggers(sqlite: Database.Database): SchemaObject[] {
  return dropAll(sqlite, 'trigger');
}

function dropAll(sqlite: Database.Database, type: 'index' | 'trigger'): SchemaObject[] {
  const objects = sqlite
    .prepare('select name, sql from sqlite_master where type = ? and sql is not null')
    .all(type) as SchemaObject[];
  sqlite.transaction(() => {
    for (const { name } of objects) sqlite.exec(`drop ${type} "${name}"`);
  })();
  return objects;
}

/** Runs `statements` (index and trigger DDL, recounts) in one transaction, at a load's end. */
function runSchemaStatements(sqlite: Database.Database, statements: readonly string[]): void {
  if (statements.length === 0) return;
  // One helper thread for SQLite's sorter: the log is read by then, so the second core is free.
  sqlite.pragma('threads = 1');
  sqlite.transaction(() => {
    for (const sql of statements) sqlite.exec(sql);
  })();
  sqlite.pragma('threads = 0');
}
