import { rename, rm } from 'node:fs/promises';
import { EVENT_LOG_STREAM, type Bus } from '@conform/bus';
import { createBatchDecoder } from '@conform/contracts';
import { bulkApplier } from './checkpoint.js';
import { ReplayError } from './errors.js';
import { openReadModels, type ReadModels } from './read-models.js';
import { streamEventLog } from './stream.js';

/** What a replay did. */
export interface ReplayResult {
  /** Last stream sequence folded in (the new database's checkpoint). */
  appliedSequence: number;
  messages: number;
  invalid: number;
  elapsedMs: number;
}

/** A stored message a replay skipped because it is not a valid event. */
export interface InvalidMessage {
  sequence: number;
  subject: string;
  /** What is wrong with it (which key, what was expected). */
  error: string;
}

/** Options of {@link rebuildReadModels}. */
export interface RebuildOptions {
  /** Messages per transaction. */
  batchSize?: number;
  /** Called after each batch with the last sequence applied and the target. */
  onProgress?: (applied: number, target: number) => void;
  /** Called for each message that is not a valid event (skipped; `error` says why). */
  onInvalid?: (message: InvalidMessage) => void;
}

/**
 * Builds a fresh read-model database at `path` (which must not be in use) from stream
 * sequence 1 up to the stream's end when the replay started. A message that is not a valid
 * event is reported to `onInvalid` and skipped; the replay goes on. The file is a staging
 * file (see {@link openForRebuild}): when the replay fails it is removed.
 */
export async function rebuildReadModels(
  bus: Bus,
  path: string,
  opts: RebuildOptions = {},
): Promise<ReplayResult> {
  const started = Date.now();
  await removeDatabase(path);
  const staging = openForRebuild(path);
  const { sqlite } = staging.readModels;
  let messages = 0;
  let invalid = 0;
  let applied = 0;
  try {
    const info = await bus.jsm.streams.info(EVENT_LOG_STREAM).catch(() => null);
    const target = info?.state.last_seq ?? 0;
    const applier = bulkApplier(sqlite, { batchSize: opts.batchSize ?? DEFAULT_REPLAY_BATCH });
    const decoder = createBatchDecoder();
    const every = opts.batchSize ?? DEFAULT_REPLAY_BATCH;
    await streamEventLog(
      bus,
      (msg) => {
        messages++;
        const decoded = decoder.decode(msg.data);
        if (!decoded.ok) {
          invalid++;
          opts.onInvalid?.({ sequence: msg.seq, subject: msg.subject, error: decoded.error });
        }
        applier.apply(msg.seq, decoded.ok ? decoded.event : null);
        if (messages % every === 0) opts.onProgress?.(msg.seq, target);
      },
      { toSequence: target },
    );
    applied = applier.commit();
    opts.onProgress?.(applied, target);
    staging.finish();
  } catch (err) {
    await staging.readModels.close();
    await removeDatabase(path);
    throw new ReplayError(`replay into ${path} failed: ${(err as Error).message}`, { cause: err });
  }
  await staging.readModels.close();
  return { appliedSequence: applied, messages, invalid, elapsedMs: Date.now() - started };
}

/** Messages per transaction of a replay. */
export const DEFAULT_REPLAY_BATCH = 5_000;

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

/**
 * Rebuilds into `<livePath>.replay` and then swaps it in with an atomic rename. The old file's
 * WAL and shared-memory files are removed first so SQLite never pairs them with the new file.
 * No process may have `livePath` open meanwhile (it would keep the old, unlinked file).
 */
export async function replayReadModels(
  bus: Bus,
  livePath: string,
  opts: RebuildOptions = {},
): Promise<ReplayResult> {
  const staging = `${livePath}.replay`;
  const result = await rebuildReadModels(bus, staging, opts);
  try {
    await rm(`${livePath}-wal`, { force: true });
    await rm(`${livePath}-shm`, { force: true });
    await rename(staging, livePath);
  } catch (err) {
    throw new ReplayError(
      `rebuilt ${staging} but could not swap it in for ${livePath}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return result;
}

async function removeDatabase(path: string): Promise<void> {
  for (const suffix of ['', '-wal', '-shm', '-journal']) {
    await rm(`${path}${suffix}`, { force: true });
  }
}
