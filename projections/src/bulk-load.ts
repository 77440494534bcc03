import { Worker } from 'node:worker_threads';
import type { Bus } from '@conform/bus';
import { streamRawEventLog } from './raw-stream.js';
import {
  ChunkWriter,
  COUNTER_SLOTS,
  type ReplayChunk,
  type ReplayWorkerData,
  type WorkerReport,
} from './replay-protocol.js';

/** A stored message a bulk load skipped because it is not a valid event. */
export interface InvalidMessage {
  sequence: number;
  subject: string;
  /** What is wrong with it (which key, what was expected). */
  error: string;
}

/** What to load, where, and whom to tell. */
export interface BulkLoadOptions {
  /** The read-model file to write (see ReplayWorkerData for the modes). */
  path: string;
  mode: ReplayWorkerData['mode'];
  /** `catch-up` only: drop the secondary indexes until the end. */
  dropIndexes?: boolean;
  /** First sequence to read (the file's checkpoint + 1); the last is `toSequence`. */
  fromSequence: number;
  toSequence: number;
  /** Messages per transaction. */
  batchSize: number;
  /** Stops reading; what was read is still written and committed, then the load ends. */
  signal?: AbortSignal;
  /** After each commit: the checkpoint now in the file. */
  onProgress?: (applied: number) => void;
  onInvalid?: (message: InvalidMessage) => void;
}

/** What a bulk load did. */
export interface BulkLoadResult {
  /** The file's checkpoint at the end. */
  applied: number;
  messages: number;
  invalid: number;
}

/**
 * Moves messages `fromSequence`..`toSequence` of the event log into a read-model file on two
 * threads: this one only takes messages off the socket (streamRawEventLog) and hands their raw payloads
 * on in chunks (transferred, not copied or cloned again); a worker (replay-worker.ts) decodes,
 * validates and writes them with the bulk applier, each transaction committed with its
 * checkpoint. On two cores the socket work and nats-server overlap with decoding and SQLite
 * (docs/benchmarks/replay.md). Rejects with the writer's own error when it fails; the file then
 * holds what was committed (its checkpoint says how far).
 */
export async function bulkLoad(bus: Bus, opts: BulkLoadOptions): Promise<BulkLoadResult> {
  const counter = new SharedArrayBuffer(COUNTER_SLOTS * Int32Array.BYTES_PER_ELEMENT);
  const inFlight = new Int32Array(counter);
  const worker = new Worker(new URL('./replay-worker.js', import.meta.url), {
    workerData: {
      path: opts.path,
      mode: opts.mode,
      dropIndexes: opts.dropIndexes ?? false,
      batchSize: Math.max(1, opts.batchSize),
      counter,
    } satisfies ReplayWorkerData,
  });
  let failure: unknown = null;
  let done: Extract<WorkerReport, { kind: 'done' }> | null = null;
  const exited = new Promise<void>((resolve) => {
    worker.on('message', (r: WorkerReport) => {
      try {
        if (r.kind === 'progress') opts.onProgress?.(r.applied);
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
    await streamRawEventLog(bus, (seq, subject, data) => chunks.add(seq, subject, data), {
      fromSequence: opts.fromSequence,
      toSequence: opts.toSequence,
      signal: opts.signal,
    });
    chunks.flush();
    worker.postMessage({ kind: 'end' } satisfies ReplayChunk);
    await exited;
    if (failure) throw failure;
    if (!done) throw new Error('the writer thread stopped without a result');
  } catch (err) {
    await worker.terminate();
    // The writer's own error says more than the reader's "the replay writer failed".
    throw failure ?? err;
  }
  const result = done as Extract<WorkerReport, { kind: 'done' }>;
  return { applied: result.applied, messages: result.messages, invalid: result.invalid };
}
