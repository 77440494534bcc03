import { rename, rm } from 'node:fs/promises';
import type { Bus } from '@conform/bus';
import { applyBatch } from './checkpoint.js';
import { ReplayError } from './errors.js';
import { openReadModels } from './read-models.js';
import { readEventLog } from './stream.js';

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
}

/**
 * Builds a fresh read-model database at `path` (which must not be in use) from stream
 * sequence 1 up to the stream's end when the replay started. Each batch and its checkpoint
 * commit together, so an interrupted replay leaves a consistent, merely older database.
 */
export async function rebuildReadModels(
  bus: Bus,
  path: string,
  opts: RebuildOptions = {},
): Promise<ReplayResult> {
  const started = Date.now();
  await removeDatabase(path);
  const readModels = openReadModels(path);
  // A staging file nobody reads yet: a crash means starting the replay again, so skip fsyncs.
  readModels.sqlite.pragma('synchronous = OFF');
  readModels.sqlite.pragma('cache_size = -65536');
  let messages = 0;
  let invalid = 0;
  let applied = 0;
  try {
    const info = await bus.jsm.streams.info('CONFORM_EVENTS').catch(() => null);
    const target = info?.state.last_seq ?? 0;
    await readEventLog(
      bus,
      (batch) => {
        messages += batch.length;
        invalid += batch.filter((m) => !m.event).length;
        applied = applyBatch(
          readModels.sqlite,
          batch.map((m) => ({ position: m.sequence, event: m.event })),
        );
        opts.onProgress?.(applied, target);
      },
      { batchSize: opts.batchSize ?? 5_000, toSequence: target },
    );
  } catch (err) {
    throw new ReplayError(`replay into ${path} failed: ${(err as Error).message}`, { cause: err });
  } finally {
    await readModels.close();
  }
  return { appliedSequence: applied, messages, invalid, elapsedMs: Date.now() - started };
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
