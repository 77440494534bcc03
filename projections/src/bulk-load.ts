import { Worker } from 'node:worker_threads';
import type { Bus } from '@conform/bus';
import { streamRawEventLog } from './raw-stream.js';
import {
  ChunkWriter,
  COUNTER_SLOTS,
  type ReplayChunk,
  type ReplayTarget,
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
  /** The read-model file to write (see ReplayTarget for the modes). */
  path: string;
  mode: ReplayTarget['mode'];
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
 * A bulk load's writer thread, started ahead of its load: its modules (the event schemas,
 * SQLite) load while the caller does something else, such as waiting for nats-server to
 * restore its store. It names no file until the load. Used by one {@link bulkLoad}; `close`
 * stops it if no load ran (or the load failed), and is a no-op after a load that ended.
 */
export interface BulkWriter {
  close(): Promise<void>;
}

interface WriterThread {
  worker: Worker;
  inFlight: Int32Array;
  exited: Promise<void>;
  /** Where the worker's reports go; set by the load. */
  listener: ((r: WorkerReport) => void) | null;
  /** The first error: of the thread itself (it could not start, it crashed), or one it reported. */
  failure: unknown;
  used: boolean;
}

/** The thread behind each writer startBulkWriter handed out. */
const threads = new WeakMap<BulkWriter, WriterThread>();

/** Starts a writer thread for a later {@link bulkLoad}. */
export function startBulkWriter(): BulkWriter {
  const counter = new SharedArrayBuffer(COUNTER_SLOTS * Int32Array.BYTES_PER_ELEMENT);
  const worker = new Worker(new URL('./replay-worker.js', import.meta.url), {
    workerData: { counter } satisfies ReplayWorkerData,
  });
  const thread: WriterThread = {
    worker,
    inFlight: new Int32Array(counter),
    exited: new Promise<void>((resolve) => worker.on('exit', () => resolve())),
    listener: null,
    failure: null,
    used: false,
  };
  worker.on('message', (r: WorkerReport) => thread.listener?.(r));
  worker.on('error', (err) => (thread.failure ??= err));
  const writer: BulkWriter = {
    // terminate() of a thread that has exited already just resolves.
    close: async () => {
      await worker.terminate();
      await thread.exited;
    },
  };
  threads.set(writer, thread);
  return writer;
}

/**
 * Moves messages `fromSequence`..`toSequence` of the event log into a read-model file on two
 * threads: this one only takes messages off the socket (streamRawEventLog) and hands their raw payloads
 * on in chunks (transferred, not copied or cloned again); a worker (replay-worker.ts) decodes,
 * validates and writes them with the bulk applier, each transaction committed with its
 * checkpoint. On two cores the socket work and nats-server overlap with decoding and SQLite
 * (docs/benchmarks/replay.md). Rejects with the writer's own error when it fails; the file then
 * holds what was committed (its checkpoint says how far). `writer`: one started ahead
 * ({@link startBulkWriter}); by default one is started here.
 */
export async function bulkLoad(
  bus: Bus,
  opts: BulkLoadOptions,
  writer: BulkWriter = startBulkWriter(),
): Promise<BulkLoadResult> {
  const thread = threads.get(writer);
  if (!thread) throw new Error('a bulk writer comes from startBulkWriter');
  if (thread.used) throw new Error('a bulk writer serves one load');
  thread.used = true;
  let done: Extract<WorkerReport, { kind: 'done' }> | null = null;
  thread.listener = (r) => {
    try {
      if (r.kind === 'progress') opts.onProgress?.(r.applied);
      else if (r.kind === 'invalid') for (const m of r.messages) opts.onInvalid?.(m);
      else if (r.kind === 'done') done = r;
      else thread.failure ??= new Error(r.message);
    } catch (err) {
      thread.failure ??= err;
    }
  };
  const check = () => {
    if (thread.failure) throw thread.failure;
  };
  const chunks = new ChunkWriter(thread.inFlight, (chunk, transfer) => {
    check();
    thread.worker.postMessage(chunk, transfer);
  });
  try {
    check();
    thread.worker.postMessage({
      kind: 'open',
      path: opts.path,
      mode: opts.mode,
      dropIndexes: opts.dropIndexes ?? false,
      batchSize: Math.max(1, opts.batchSize),
    } satisfies ReplayChunk);
    await streamRawEventLog(bus, (seq, subject, data) => chunks.add(seq, subject, data), {
      fromSequence: opts.fromSequence,
      toSequence: opts.toSequence,
      signal: opts.signal,
    });
    chunks.flush();
    thread.worker.postMessage({ kind: 'end' } satisfies ReplayChunk);
    await thread.exited;
    check();
    if (!done) throw new Error('the writer thread stopped without a result');
  } catch (err) {
    await writer.close();
    // The writer's own error says more than the reader's "the replay writer failed".
    throw thread.failure ?? err;
  }
  const result = done as Extract<WorkerReport, { kind: 'done' }>;
  return { applied: result.applied, messages: result.messages, invalid: result.invalid };
}
