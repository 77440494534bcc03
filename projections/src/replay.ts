import { rename, rm } from 'node:fs/promises';
import { EVENT_LOG_STREAM, type Bus } from '@conform/bus';
import { bulkLoad, type BulkWriter, type InvalidMessage } from './bulk-load.js';
import { ReplayError } from './errors.js';

/** What a replay did. */
export interface ReplayResult {
  /** Last stream sequence folded in (the new database's checkpoint). */
  appliedSequence: number;
  messages: number;
  invalid: number;
  elapsedMs: number;
}

/** Options of {@link rebuildReadModels}. */
export interface RebuildOptions {
  /** Messages per transaction. */
  batchSize?: number;
  /** Called after each batch with the last sequence applied and the target. */
  onProgress?: (applied: number, target: number) => void;
  /** Called for each message that is not a valid event (skipped; `error` says why). */
  onInvalid?: (message: InvalidMessage) => void;
  /** A writer thread started ahead ({@link startBulkWriter}); by default one is started. */
  writer?: BulkWriter;
}

/**
 * Builds a fresh read-model database at `path` (which must not be in use) from stream
 * sequence 1 up to the stream's end when the replay started. A message that is not a valid
 * event is reported to `onInvalid` and skipped; the replay goes on. The file is a staging
 * file (see `openForRebuild`) written by {@link bulkLoad} (reading on this thread,
 * decoding and writing on a worker): when the replay fails it is removed.
 */
export async function rebuildReadModels(
  bus: Bus,
  path: string,
  opts: RebuildOptions = {},
): Promise<ReplayResult> {
  const started = Date.now();
  await removeDatabase(path);
  try {
    const info = await bus.jsm.streams.info(EVENT_LOG_STREAM).catch(() => null);
    const target = info?.state.last_seq ?? 0;
    const result = await bulkLoad(
      bus,
      {
        path,
        mode: 'rebuild',
        fromSequence: 1,
        toSequence: target,
        batchSize: opts.batchSize ?? DEFAULT_REPLAY_BATCH,
        onProgress: (applied) => opts.onProgress?.(applied, target),
        onInvalid: opts.onInvalid,
      },
      opts.writer,
    );
    opts.onProgress?.(result.applied, target);
    return {
      appliedSequence: result.applied,
      messages: result.messages,
      invalid: result.invalid,
      elapsedMs: Date.now() - started,
    };
  } catch (err) {
    await removeDatabase(path);
    throw new ReplayError(`replay into ${path} failed: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Messages per transaction of a replay and of a bulk catch-up. Each commit writes every page the
 * transaction dirtied, and the primary-key indexes (file ids and event ids are hashes) take
 * their inserts at random pages, so a commit of 5,000 events rewrote most of the files key
 * index: per 1,000,000 events 200 commits wrote 1,753 MB (about 3 CPU s of the writer; on the
 * live file in WAL, 17 s of commits), 40 of 25,000 write 684 MB (1.4 s; 5 s in WAL). Readers of
 * a catching-up live file see its progress a commit at a time, about once a second.
 */
export const DEFAULT_REPLAY_BATCH = 25_000;

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
