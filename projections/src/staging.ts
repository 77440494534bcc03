import { openReadModels, type ReadModels } from './read-models.js';

/** A read-model file opened for a bulk build; `finish` makes it an ordinary live file. */
export interface StagingReadModels {
  readModels: ReadModels;
  /** Creates the secondary indexes and switches back to WAL, as `openReadModels` leaves it. */
  finish(): void;
}

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
  sqlite.pragma('temp_store = MEMORY');
  sqlite.pragma('cache_size = -131072');
  const indexes = sqlite
    .prepare("select name, sql from sqlite_master where type = 'index' and sql is not null")
    .all() as { name: string; sql: string }[];
  for (const { name } of indexes) sqlite.exec(`drop index "${name}"`);
  return {
    readModels,
    finish() {
      sqlite.transaction(() => {
        for (const { sql } of indexes) sqlite.exec(sql);
      })();
      sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('locking_mode = NORMAL');
    },
  };
}
