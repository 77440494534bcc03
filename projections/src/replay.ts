import { rename, rm } from 'node:fs/promises';
import { EVENT_LOG_STREAM, type Bus } from '@conform/bus';
import { createBatchDecoder } from '@conform/contracts';
import { bulkApplier } from './checkpoint.js';
import { ReplayError } from './errors.js';
import { streamEventLog } from './stream.js';
import { openForRebuild, type StagingReadModels } from './staging.js';
import {
  ChunkWriter,
  COUNTER_SLOTS,
  type ReplayChunk,
  type ReplayWorkerData,
  type WorkerReport,
} from './replay-protocol.js';
import { Worker } from 'node:worker_threads';

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
 *
 * With CONFORM_REPLAY_WRITER_THREAD=1, two threads: this one takes messages off the ordered
 * consumer and hands their raw payloads on in chunks (transferred, not copied); a worker
 * (replay-worker.ts) decodes and writes them, so on two cores the socket work can overlap with
 * decoding and SQLite. By default everything runs on this thread.
 */
export async function rebuildReadModels(
  bus: Bus,
  path: string,
  opts: RebuildOptions = {},
): Promise<ReplayResult> {
  // Measured on the shared 2-core machine, one thread was faster at 1,000,000 events; the
  // writer thread stays for the comparison on a quiet machine (docs/benchmarks/replay.md).
  if (process.env.CONFORM_REPLAY_WRITER_THREAD !== '1') return rebuildInline(bus, path, opts);
  const started = Date.now();
  await removeDatabase(path);
  const batchSize = Math.max(1, opts.batchSize ?? DEFAULT_REPLAY_BATCH);
  const counter = new SharedArrayBuffer(COUNTER_SLOTS * Int32Array.BYTES_PER_ELEMENT);
  const inFlight = new Int32Array(counter);
  const worker = new Worker(new URL('./replay-worker.js', import.meta.url), {
    workerData: { path, batchSize, counter } satisfies ReplayWorkerData,
  });
  let failure: unknown = null;
  let done: Extract<WorkerReport, { kind: 'done' }> | null = null;
  let target = 0;
  const exited = new Promise<void>((resolve) => {
    worker.on('message', (r: WorkerReport) => {
      try {
        if (r.kind === 'progress') opts.onProgress?.(r.applied, target);
        else if (r.kind === 'invalid') for (const m of r.messages) opts.onInvalid?.(m);
        else if (r.kind === 'done') done = r;
        else failure ??= new Error(r.message);
      } catch (err) {
        failure ??= err;
      }
    });
    worker.on('error', (err) => (failure ??= err));
    worker.on('exit', () => resolve());
  });
  const chunks = new ChunkWriter(inFlight, (chunk, transfer) => {
    if (failure) throw failure;
    worker.postMessage(chunk, transfer);
  });
  try {
    const info = await bus.jsm.streams.info(EVENT_LOG_STREAM).catch(() => null);
    target = info?.state.last_seq ?? 0;
    await streamEventLog(bus, (msg) => chunks.add(msg.seq, msg.subject, msg.data), {
      toSequence: target,
    });
    chunks.flush();
    worker.postMessage({ kind: 'end' } satisfies ReplayChunk);
    await exited;
    if (failure) throw failure;
    if (!done) throw new Error('the replay writer stopped without a result');
  } catch (err) {
    await worker.terminate();
    await removeDatabase(path);
    // The writer's own error says more than the reader's "the replay writer failed".
    const cause = failure ?? err;
    throw new ReplayError(`replay into ${path} failed: ${(cause as Error).message}`, { cause });
  }
  const result = done as Extract<WorkerReport, { kind: 'done' }>;
  opts.onProgress?.(result.applied, target);
  return {
    appliedSequence: result.applied,
    messages: result.messages,
    invalid: result.invalid,
    elapsedMs: Date.now() - started,
  };
}

/** The same replay on this thread alone. */
async function rebuildInline(
  bus: Bus,
  path: string,
  opts: RebuildOptions = {},
): Promise<ReplayResult> {
  const started = Date.now();
  await removeDatabase(path);
  let staging: StagingReadModels;
  try {
    staging = openForRebuild(path);
  } catch (err) {
    throw new ReplayError(`replay into ${path} failed: ${(err as Error).message}`, { cause: err });
  }
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
