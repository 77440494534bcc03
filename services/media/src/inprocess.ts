import { Worker } from 'node:worker_threads';
import type { InProcessOutcome } from './mediainfo-read.js';
import { tryProbeMedia, type ProbeOutcome } from './probe.js';

export { IN_PROCESS_READ_BUDGET, mp4Index, type InProcessOutcome } from './mediainfo-read.js';

/** A probe outcome and which reader produced it. */
export type FastProbeOutcome = ProbeOutcome & { by: 'mediainfo' | 'ffprobe'; fallback?: string };

/** What the prober's worker thread is started with. */
export interface ProberWorkerData {
  instances: number;
}
/** One file to read, to the worker. */
export interface ProbeRequest {
  id: number;
  path: string;
}
/** Its reading, from the worker. */
export interface ProbeReply {
  id: number;
  outcome: InProcessOutcome;
}

/** A started worker and the probes it still owes. */
interface ProberThread {
  worker: Worker;
  pending: Map<number, (outcome: InProcessOutcome) => void>;
}

/**
 * The prober thread's V8 heap. What it keeps between probes is MediaInfoLib (WebAssembly memory,
 * outside these limits) and one reading per probe in flight, so V8's defaults — a young
 * generation sized for a whole application — only let garbage pile up in conform's resident
 * memory. A thread that runs out dies, and its probes go to ffprobe (see failAll).
 */
const PROBER_HEAP_LIMITS = { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 128 };

/**
 * Reads files with MediaInfoLib (mediainfo.js, WebAssembly) in this process, no process start
 * per file, on a worker thread of its own (started on first use), so the parsing runs beside
 * the main thread instead of on it. Up to `instances` readings overlap their file reads there.
 * A worker that dies fails its pending probes over to ffprobe and is started again on the next.
 */
export class InProcessProber {
  private thread: ProberThread | null = null;
  private nextId = 0;
  private closed = false;

  constructor(private readonly instances = 2) {}

  /** The summary of `path`, or why it needs ffprobe (unreadable, unsure, over budget). */
  probe(path: string): Promise<InProcessOutcome> {
    if (this.closed) return Promise.resolve({ ok: false, why: 'mediainfo: the prober is closed' });
    const thread = this.thread ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve) => {
      // Referenced only while it owes a reply: an idle prober does not keep the process alive.
      if (thread.pending.size === 0) thread.worker.ref();
      thread.pending.set(id, resolve);
      thread.worker.postMessage({ id, path } satisfies ProbeRequest);
    });
  }

  /**
   * In process where it can be read alike, else ffprobe (the reference); errors as
   * {@link tryProbeMedia}. `limitFallback` runs the ffprobe process (a caller's bound on
   * processes at once); the in-process reading is bounded by this prober's instances alone.
   */
  async probeOrFallback(
    path: string,
    opts: { signal?: AbortSignal; limitFallback?: <T>(run: () => Promise<T>) => Promise<T> } = {},
  ): Promise<FastProbeOutcome> {
    const fast = await this.probe(path);
    if (fast.ok) return { ...fast, by: 'mediainfo' };
    const { limitFallback = (run) => run(), signal } = opts;
    const outcome = await limitFallback(() => tryProbeMedia(path, { signal }));
    return { ...outcome, by: 'ffprobe', fallback: fast.why };
  }

  /** Stops the worker thread (probes still pending fall back to ffprobe). */
  close(): void {
    this.closed = true;
    const thread = this.thread;
    this.thread = null;
    void thread?.worker.terminate();
  }

  private start(): ProberThread {
    const worker = new Worker(new URL('./mediainfo-worker.js', import.meta.url), {
      workerData: { instances: this.instances } satisfies ProberWorkerData,
      resourceLimits: PROBER_HEAP_LIMITS,
    });
    worker.unref();
    const thread: ProberThread = { worker, pending: new Map() };
    worker.on('message', (reply: ProbeReply) => {
      const resolve = thread.pending.get(reply.id);
      if (!resolve) return;
      thread.pending.delete(reply.id);
      if (thread.pending.size === 0) worker.unref();
      resolve(reply.outcome);
    });
    const failAll = (why: string) => {
      if (this.thread === thread) this.thread = null;
      for (const resolve of thread.pending.values()) resolve({ ok: false, why });
      thread.pending.clear();
    };
    worker.on('error', (err) => failAll(`mediainfo worker failed: ${err.message}`));
    worker.on('exit', (code) => failAll(`mediainfo worker exited (code ${code})`));
    this.thread = thread;
    return thread;
  }
}
