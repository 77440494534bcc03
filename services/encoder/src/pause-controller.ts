// The pause decider's I/O edge in one class (replay of the control subject, clock and disk
// observations, publishing, gating pulls): a little over 250 lines because the replay loop and
// the waiters share its state; every decision is in pause.ts.
import { statfs } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { EVENT_LOG_STREAM, type Logger, type ServiceContext } from '@conform/bus';
import { CONTROL_FILE_ID, decodeEvent, subjectFor, type PauseReason } from '@conform/contracts';
import {
  decidePause,
  isPaused,
  isPauseSource,
  observePause,
  PAUSE_SOURCE_TYPES,
  pauseDecider,
  pauseReaction,
  pauseReasons,
  type PauseEvent,
  type PauseSourceEvent,
  type PauseState,
} from './pause.js';
import type { ScheduleWindow } from './schedule.js';

/** When the encoder pauses by itself. */
export interface PauseOptions {
  /** Daily windows in which no new encode starts (local time). */
  quietWindows?: readonly ScheduleWindow[];
  /**
   * A floor for every watched filesystem besides what each encode needs (the shared rule in
   * the plan, `diskNeededBytes`); defaults to 0.
   */
  minFreeBytes?: number;
  /** Filesystems to watch besides the libraries seen in plans. */
  diskPaths?: readonly string[];
  /** How often quiet windows and free space are checked; defaults to 15 s. */
  checkIntervalMs?: number;
  /** The clock quiet windows are judged by (tests). */
  now?: () => Date;
}

/** Free bytes for unprivileged users on the filesystem of `path`; null when unreadable. */
export async function freeBytesOf(path: string): Promise<number | null> {
  const fs = await statfs(path).catch(() => null);
  return fs ? Number(fs.bavail) * Number(fs.bsize) : null;
}

/**
 * The I/O around the pause decider: folds the event log's control subject (every
 * control.requested pause/resume, every node's encoder.paused/resumed) into the state, checks
 * the clock and free space, publishes what the decider says, and gates pulls on the result.
 * The state is rebuilt from the log on start, before the first pull.
 */
export class PauseController {
  /** evolve and initialState; decide is {@link decidePause}, typed to the events it writes. */
  private readonly decider;
  private state: PauseState;
  private readonly diskPaths = new Set<string>();
  /** What encodes waiting for room need, per filesystem path. */
  private readonly needs = new Set<{ path: string; bytes: number }>();
  private readonly waiters = new Set<() => void>();
  private readonly cancelListeners = new Set<() => void>();
  private readonly changeListeners = new Set<() => void>();
  private readonly abort = new AbortController();
  private readonly messages: ControlMessages[] = [];
  private lastSeq = 0;
  private loops: Promise<unknown>[] = [];

  private constructor(
    private readonly ctx: ServiceContext,
    private readonly opts: PauseOptions & { node: string; log: Logger },
  ) {
    this.decider = pauseDecider(opts.node);
    this.state = this.decider.initialState();
    for (const p of opts.diskPaths ?? []) this.diskPaths.add(p);
  }

  /** Replays the control subject, makes the first decision, then keeps watching. */
  static async start(
    ctx: ServiceContext,
    opts: PauseOptions & { node: string; log: Logger },
  ): Promise<PauseController> {
    const controller = new PauseController(ctx, opts);
    await controller.replay();
    await controller.check();
    controller.loops.push(controller.tickLoop());
    return controller;
  }

  /** Resolves at once when not paused, else when resumed (or on abort). */
  whenRunning(signal: AbortSignal): Promise<void> {
    if (!isPaused(this.state) || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Called when this node records a `pause --now`; returns the unregister function. */
  onCancelRunning(listener: () => void): () => void {
    this.cancelListeners.add(listener);
    return () => this.cancelListeners.delete(listener);
  }

  /** Watches this path's filesystem for free space too. */
  watchDisk(path: string): void {
    this.diskPaths.add(path);
  }

  /**
   * Holds an encode until `path`'s filesystem has `bytes` free: records a low-disk pause (so
   * no new work is pulled), polls free space every check interval, and lifts the pause once
   * there is room. Returns early on `signal` or stop.
   */
  async waitForSpace(path: string, bytes: number, signal: AbortSignal): Promise<void> {
    const need = { path, bytes };
    this.diskPaths.add(path);
    this.needs.add(need);
    const stop = AbortSignal.any([signal, this.abort.signal]);
    try {
      await this.check();
      while (!stop.aborted) {
        const free = await freeBytesOf(path);
        if (free === null || free >= bytes) return;
        await sleep(this.opts.checkIntervalMs ?? 15_000, undefined, { signal: stop }).catch(
          () => undefined,
        );
      }
    } finally {
      this.needs.delete(need);
      // The tick loop lifts the pause too if this races the pause's own event.
      await this.check().catch((err: unknown) => this.opts.log.warn({ err }, 'pause check failed'));
    }
  }

  /** Called whenever this node pauses or resumes; returns the unregister function. */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  get paused(): boolean {
    return isPaused(this.state);
  }

  /** The reasons that hold this node paused now (empty while it runs). */
  get reasons(): PauseReason[] {
    return pauseReasons(this.state);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.messages.map((m) => m.close().catch(() => undefined)));
    for (const w of [...this.waiters]) w();
    await Promise.all(this.loops);
  }

  /**
   * Reads the control subjects' history, then follows them. One ordered consumer per pause
   * source subject, each a literal subject: nats-server 2.9 counts a consumer's pending
   * messages at creation, and for a wildcard filter (`conform.evt.*.*.<control>`) it matches
   * every subject of the log inside the request (3.6 s at 1,800,000 messages, holding every
   * other request of the connection up until they timed out); for a literal subject it is one
   * lookup per message block. The history is merged by sequence before it is applied.
   */
  private async replay(): Promise<void> {
    const consumers = await Promise.all(
      PAUSE_SOURCE_TYPES.map((type) =>
        this.ctx.bus.js.consumers.get(EVENT_LOG_STREAM, {
          filter_subjects: subjectFor(type, CONTROL_FILE_ID),
        }),
      ),
    );
    // What each had at creation is history; what comes after is live.
    const historyLeft = consumers.map((c) => c.info(true).then((i) => i.num_pending));
    const left = await Promise.all(historyLeft);
    let history: { seq: number; event: PauseSourceEvent }[] | null = [];
    let caughtUp: () => void = () => undefined;
    const replayed = new Promise<void>((resolve) => (caughtUp = resolve));
    const release = () => {
      if (!history || left.some((n) => n > 0)) return;
      const merged = history.sort((a, b) => a.seq - b.seq);
      history = null;
      merged.forEach(({ seq, event }, i) => {
        this.lastSeq = Math.max(this.lastSeq, seq);
        this.apply(event, i === merged.length - 1);
      });
      caughtUp();
    };
    release();
    for (const [i, consumer] of consumers.entries()) {
      const messages = await consumer.consume();
      this.messages.push(messages);
      let lastSeq = 0;
      this.loops.push(
        (async () => {
          for await (const msg of messages) {
            if (msg.seq <= lastSeq) continue; // the ordered consumer may replay after a gap
            lastSeq = msg.seq;
            const decoded = decodeEvent(msg.data);
            const event = decoded.ok && isPauseSource(decoded.event) ? decoded.event : null;
            if (history) {
              if (event) history.push({ seq: msg.seq, event });
              left[i] = Math.max(0, left[i]! - 1);
              release();
            } else if (event) {
              this.lastSeq = Math.max(this.lastSeq, msg.seq);
              this.apply(event, true);
            }
          }
        })().catch((err: unknown) => {
          if (!this.abort.signal.aborted) this.opts.log.error({ err }, 'control subject lost');
        }),
      );
    }
    await replayed;
  }

  private apply(event: PauseSourceEvent, live: boolean): void {
    const before = this.state;
    this.state = this.decider.evolve(before, event);
    const reaction = pauseReaction(before, this.state, event, live);
    if (reaction.check) void this.check();
    if (reaction.cancelRunning) for (const cancel of [...this.cancelListeners]) cancel();
    if (isPaused(before) !== isPaused(this.state)) {
      this.opts.log.info(
        { paused: isPaused(this.state), recorded: this.state.recorded },
        isPaused(this.state) ? 'encoder paused' : 'encoder resumed',
      );
    }
    if (reaction.wake) for (const w of [...this.waiters]) w();
    if (reaction.changed) for (const listener of [...this.changeListeners]) listener();
  }

  /** Observes clock and disks, then publishes what the decider says. */
  private async check(): Promise<void> {
    const paths = [...this.diskPaths];
    const disks = await Promise.all(
      paths.map(async (path) => ({ path, freeBytes: await freeBytesOf(path) })),
    );
    const obs = observePause(
      this.opts.now?.() ?? new Date(),
      this.opts.quietWindows ?? [],
      disks,
      this.opts.minFreeBytes ?? 0,
      this.needs,
    );
    for (const event of decidePause(obs, this.state)) await this.publish(event);
  }

  private async publish(event: PauseEvent): Promise<void> {
    try {
      // Keyed by the log position the decision was made at: a repeat before our own event
      // comes back is the same decision, and the stream drops it.
      await this.ctx.publisher.emit(event, {
        fileId: CONTROL_FILE_ID,
        discriminator: `${this.opts.node}:${event.data.reason}:${this.lastSeq}`,
      });
    } catch (err) {
      this.opts.log.error({ err, event: event.type }, 'could not record a pause change');
    }
  }

  private async tickLoop(): Promise<void> {
    while (!this.abort.signal.aborted) {
      await sleep(this.opts.checkIntervalMs ?? 15_000, undefined, {
        signal: this.abort.signal,
      }).catch(() => undefined);
      if (this.abort.signal.aborted) return;
      await this.check().catch((err: unknown) => this.opts.log.warn({ err }, 'pause check failed'));
    }
  }
}

/** The part of nats.js's message iterator this controller uses. */
interface ControlMessages extends AsyncIterable<{
  seq: number;
  data: Uint8Array;
  info: { pending: number };
}> {
  close(): Promise<unknown>;
}
