// What the main thread of a bulk load (bulk-load.ts: a replay, a projector catching up) and its
// writer thread (replay-worker.ts) say to each other.

/** Index, in the shared counter, of the number of chunks posted and not yet written. */
export const IN_FLIGHT_SLOT = 0;
/** Index of the writer's failure flag (1: it failed; the reader stops at its next chunk). */
export const FAILED_SLOT = 1;
/** Slots in the shared counter. */
export const COUNTER_SLOTS = 2;

/** The writer's start-up data. */
export interface ReplayWorkerData {
  /** An Int32Array's buffer of COUNTER_SLOTS: chunks in flight and the failure flag. */
  counter: SharedArrayBuffer;
}

/**
 * What to write, the writer's first message: it may be started before the file can be named
 * (a replay starts it while nats-server restores, before the state directory's lock is held).
 */
export interface ReplayTarget {
  /** The file to write. */
  path: string;
  /**
   * `rebuild`: a fresh staging file (openForRebuild); `catch-up`: the live file, from its
   * checkpoint on (openForCatchUp), its secondary indexes dropped until the end when
   * `dropIndexes`.
   */
  mode: 'rebuild' | 'catch-up';
  dropIndexes: boolean;
  /** Events per transaction. */
  batchSize: number;
}

/** Messages in stream order: payload i is `bytes[offsets[i], offsets[i + 1])`. */
export type ReplayChunk =
  | ({ kind: 'open' } & ReplayTarget)
  | {
      kind: 'messages';
      bytes: ArrayBuffer;
      offsets: Uint32Array;
      sequences: Float64Array;
      subjects: string[];
    }
  | { kind: 'end' };

/** What the writer reports back. */
export type WorkerReport =
  /** A transaction committed: rows and checkpoint are in the file up to `applied`. */
  | { kind: 'progress'; applied: number }
  | { kind: 'invalid'; messages: { sequence: number; subject: string; error: string }[] }
  | { kind: 'done'; applied: number; messages: number; invalid: number }
  | { kind: 'error'; message: string };

/** Chunks handed to the writer thread; past this many the reader waits for it. */
const MAX_CHUNKS_IN_FLIGHT = 32;
/** Messages per chunk. */
const CHUNK_MESSAGES = 1_000;

/**
 * Copies payloads into chunk buffers that are transferred (not copied again) to the writer.
 * When the writer is `MAX_CHUNKS_IN_FLIGHT` chunks behind, `add` blocks the reader (Atomics.wait
 * on the shared counter), so memory stays bounded and the consumer's pulls simply wait.
 */
export class ChunkWriter {
  private bytes = new Uint8Array(1 << 20);
  private used = 0;
  private offsets: number[] = [0];
  private sequences: number[] = [];
  private subjects: string[] = [];

  constructor(
    private readonly inFlight: Int32Array,
    private readonly send: (chunk: ReplayChunk, transfer: ArrayBuffer[]) => void,
  ) {}

  add(sequence: number, subject: string, data: Uint8Array): void {
    if (this.used + data.length > this.bytes.length) {
      const bigger = new Uint8Array(Math.max(this.bytes.length * 2, this.used + data.length));
      bigger.set(this.bytes.subarray(0, this.used));
      this.bytes = bigger;
    }
    this.bytes.set(data, this.used);
    this.used += data.length;
    this.offsets.push(this.used);
    this.sequences.push(sequence);
    this.subjects.push(subject);
    if (this.sequences.length >= CHUNK_MESSAGES) this.flush();
  }

  flush(): void {
    if (this.sequences.length === 0) return;
    const started = Date.now();
    for (;;) {
      if (Atomics.load(this.inFlight, FAILED_SLOT) !== 0) {
        throw new Error('the replay writer failed');
      }
      const now = Atomics.load(this.inFlight, IN_FLIGHT_SLOT);
      if (now < MAX_CHUNKS_IN_FLIGHT) break;
      // A writer that died cannot wake us; its error surfaces once we stop waiting.
      if (Date.now() - started > 60_000) throw new Error('the replay writer stopped writing');
      Atomics.wait(this.inFlight, IN_FLIGHT_SLOT, now, 1_000);
    }
    Atomics.add(this.inFlight, IN_FLIGHT_SLOT, 1);
    const bytes = this.bytes.buffer.slice(0, this.used) as ArrayBuffer;
    const chunk: ReplayChunk = {
      kind: 'messages',
      bytes,
      offsets: Uint32Array.from(this.offsets),
      sequences: Float64Array.from(this.sequences),
      subjects: this.subjects,
    };
    this.send(chunk, [
      bytes,
      chunk.offsets.buffer as ArrayBuffer,
      chunk.sequences.buffer as ArrayBuffer,
    ]);
    this.used = 0;
    this.offsets = [0];
    this.sequences = [];
    this.subjects = [];
  }
}
