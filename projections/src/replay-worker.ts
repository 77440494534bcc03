import { parentPort, workerData } from 'node:worker_threads';
import { createBatchDecoder } from '@conform/contracts';
import { bulkApplier, type BulkApplier } from './checkpoint.js';
import { openForCatchUp, openForRebuild, type StagingReadModels } from './staging.js';
import {
  FAILED_SLOT,
  IN_FLIGHT_SLOT,
  type ReplayChunk,
  type ReplayTarget,
  type ReplayWorkerData,
  type WorkerReport,
} from './replay-protocol.js';

// The writing half of a bulk load (a replay, a projector catching up), on its own thread:
// decoding and SQLite run here while the main thread takes messages off the socket (two cores,
// shared with nats-server). What to write comes first (`open`: the writer may be started, its
// modules loaded, before the file can be named), then chunks of raw payloads; progress (per
// commit), invalid messages and the result go back.

const data = workerData as ReplayWorkerData;
const port = parentPort!;
const counter = new Int32Array(data.counter);
const report = (r: WorkerReport) => port.postMessage(r);

let messages = 0;
let invalid = 0;
let failed = false;

const fail = (err: unknown) => {
  failed = true;
  // Wakes a reader waiting for room and stops it at its next chunk.
  Atomics.store(counter, FAILED_SLOT, 1);
  Atomics.notify(counter, IN_FLIGHT_SLOT);
  report({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
  if (!staging) return port.close();
  applier?.abort();
  void staging.readModels.close().finally(() => port.close());
};

let staging: StagingReadModels | null = null;
let applier: BulkApplier | null = null;
const open = (target: ReplayTarget) => {
  staging =
    target.mode === 'rebuild'
      ? openForRebuild(target.path)
      : openForCatchUp(target.path, { dropIndexes: target.dropIndexes });
  applier = bulkApplier(staging.readModels.sqlite, {
    batchSize: target.batchSize,
    onCommit: (applied) => report({ kind: 'progress', applied }),
  });
};
const decoder = createBatchDecoder();

const write = (chunk: Extract<ReplayChunk, { kind: 'messages' }>) => {
  const bytes = new Uint8Array(chunk.bytes);
  const bad: { sequence: number; subject: string; error: string }[] = [];
  for (let i = 0; i < chunk.sequences.length; i++) {
    const decoded = decoder.decode(bytes.subarray(chunk.offsets[i], chunk.offsets[i + 1]));
    const sequence = chunk.sequences[i]!;
    if (!decoded.ok) bad.push({ sequence, subject: chunk.subjects[i]!, error: decoded.error });
    applier!.apply(sequence, decoded.ok ? decoded.event : null);
    messages++;
  }
  invalid += bad.length;
  if (bad.length > 0) report({ kind: 'invalid', messages: bad });
};

port.on('message', (chunk: ReplayChunk) => {
  if (failed) return;
  if (chunk.kind === 'open') {
    try {
      open(chunk);
    } catch (err) {
      fail(err);
    }
    return;
  }
  if (chunk.kind === 'end') {
    try {
      const applied = applier!.commit();
      staging!.finish();
      void staging!.readModels.close().then(() => {
        report({ kind: 'done', applied, messages, invalid });
        port.close();
      }, fail);
    } catch (err) {
      fail(err);
    }
    return;
  }
  try {
    write(chunk);
  } catch (err) {
    fail(err);
  } finally {
    // One chunk fewer in flight: wake the reader if it waits for room.
    Atomics.sub(counter, IN_FLIGHT_SLOT, 1);
    Atomics.notify(counter, IN_FLIGHT_SLOT);
  }
});
