import { EVENT_LOG_STREAM, type Bus, type Logger } from '@conform/bus';
import { bulkLoad } from './bulk-load.js';
import type { ReadModels } from './read-models.js';
import { DEFAULT_REPLAY_BATCH } from './replay.js';

/**
 * Past this many sequences behind, the projector catches up in bulk (a worker thread decoding
 * and writing transactions of DEFAULT_REPLAY_BATCH, as a replay does) before it reads live.
 * Below it, starting the worker would cost more than it saves.
 */
export const BULK_CATCH_UP_MIN = 10_000;

/**
 * When the read models are at least `minBehind` sequences behind the log (a fresh read model on
 * an existing log, a long stop), loads the log from `applied + 1` up to its end into the live
 * file through the bulk path (`bulkLoad` in `catch-up` mode: the worker's own connection, WAL,
 * every commit with its checkpoint, so readers see the file grow and a crash leaves rows and
 * checkpoint together). Returns the checkpoint reached, or null when it did not run (not far
 * enough behind, or an in-memory database a worker cannot open). `onProgress` hears each commit.
 */
export async function catchUpInBulk(
  bus: Bus,
  readModels: ReadModels,
  applied: number,
  opts: {
    minBehind: number;
    signal: AbortSignal;
    log: Logger;
    onProgress: (checkpoint: number) => void;
  },
): Promise<number | null> {
  const { path, sqlite } = readModels;
  if (path === ':memory:' || path === '') return null;
  const info = await bus.jsm.streams.info(EVENT_LOG_STREAM).catch(() => null);
  const target = info?.state.last_seq ?? 0;
  if (target - applied < opts.minBehind) return null;
  const { rows } = sqlite.prepare('select count(*) as rows from files').get() as { rows: number };
  // Rebuilding the indexes at the end costs less than keeping them up to date only when the
  // load writes more than the tables hold.
  const dropIndexes = rows < target - applied;
  opts.log.info({ from: applied + 1, to: target, dropIndexes }, 'catching up in bulk');
  const result = await bulkLoad(bus, {
    path,
    mode: 'catch-up',
    dropIndexes,
    fromSequence: applied + 1,
    toSequence: target,
    batchSize: DEFAULT_REPLAY_BATCH,
    signal: opts.signal,
    onProgress: opts.onProgress,
    onInvalid: (m) =>
      opts.log.error(
        { subject: m.subject, seq: m.sequence, error: m.error },
        'skipping a message that is not a valid event',
      ),
  });
  opts.log.info({ applied: result.applied, messages: result.messages }, 'caught up in bulk');
  return result.applied;
}
