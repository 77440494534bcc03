/**
 * Whether a loop of a consumer that is not covered by a pull in flight may start a pull now:
 * at once while the consumer has work, but only when no pull is in flight once one came back
 * with fewer messages than it asked for (the consumer ran dry). Pure.
 */
export function mayPullNow(empty: boolean, inFlight: number): boolean {
  return !empty || inFlight === 0;
}

/** One pull of up to `max` messages: its messages as they arrive, ended by its expiry. */
export interface PullBatch<T> extends AsyncIterable<T> {
  /** Ends the pull early (on stop). */
  stop(): void;
}

/** Starts one pull for up to `max` messages. */
export type StartPull<T> = (max: number) => Promise<PullBatch<T>>;

interface Waiter<T> {
  resolve(msg: T | null): void;
  reject(err: unknown): void;
}

/**
 * Shared by the pull loops of one consumer. Every loop of an idle consumer waiting out its own
 * long pull costs a pull request, a heartbeat and an expiry a second per loop on both ends (an
 * encoder node has 4 loops on each of 15 pools), for nothing. So an idle consumer has one pull
 * in flight, asking for as many messages as there are loops waiting for one: the first burst
 * after a lull is handed out to all of them from that one pull, without a second round trip.
 * While the consumer has work, a loop not covered by a pull in flight starts its own at once.
 *
 * A loop waits for a message here only after its own checks (`beforePull`: pause, the device
 * gate), as it did with a pull of its own; a pull that expires lets the loops it covered go
 * with nothing, so they check again before the next.
 */
export class IdlePulls<T> {
  // Idle until a pull shows otherwise: a start pulls once, not once per loop.
  private empty = true;
  private inFlight = 0;
  /** Messages the pulls in flight may still bring. */
  private room = 0;
  private readonly waiters: Waiter<T>[] = [];

  /** `onOrphan` gets a message whose loop stopped while it was on its way (to give back). */
  constructor(private readonly onOrphan: (msg: T) => void) {}

  /** The next message for this loop, or null when the pull covering it expired (or on abort). */
  next(start: StartPull<T>, signal: AbortSignal): Promise<T | null> {
    if (signal.aborted) return Promise.resolve(null);
    return new Promise<T | null>((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(null);
      };
      const waiter: Waiter<T> = {
        resolve: (msg) => {
          signal.removeEventListener('abort', onAbort);
          resolve(msg);
        },
        reject: (err) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.maybePull(start, signal);
    });
  }

  private maybePull(start: StartPull<T>, signal: AbortSignal): void {
    const uncovered = this.waiters.length - this.room;
    if (uncovered <= 0 || signal.aborted || !mayPullNow(this.empty, this.inFlight)) return;
    this.inFlight++;
    if (!this.empty) {
      this.begin(start, signal);
      return;
    }
    // Idle: the loops an expired pull let go come back within this turn of the event loop
    // (their gates are open or they would not); one pull then stands for all of them.
    setImmediate(() => this.begin(start, signal));
  }

  private begin(start: StartPull<T>, signal: AbortSignal): void {
    const max = this.waiters.length - this.room;
    if (max <= 0 || signal.aborted) {
      this.inFlight--; // the loops it was for stopped meanwhile
      return;
    }
    this.room += max;
    void this.run(start, max, signal);
  }

  /** One pull for `max` waiting loops: each message goes to the loop that has waited longest. */
  private async run(start: StartPull<T>, max: number, signal: AbortSignal): Promise<void> {
    let received = 0;
    let failure: { err: unknown } | null = null;
    try {
      const batch = await start(max);
      const onAbort = () => batch.stop();
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) batch.stop();
      try {
        for await (const msg of batch) {
          received++;
          this.room--;
          this.empty = false;
          const waiter = this.waiters.shift();
          if (waiter) waiter.resolve(msg);
          else this.onOrphan(msg); // its loop stopped meanwhile
          if (received >= max) break;
          // A burst: loops that came while this pull was idle pull at once, not after it.
          this.maybePull(start, signal);
        }
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    } catch (err) {
      failure = { err };
    }
    this.inFlight--; // counted by maybePull
    this.room -= max - received;
    if (received < max) this.empty = true;
    // The loops this pull stood for and did not serve go with nothing (or its error), so they
    // check their gates again; loops that other pulls in flight stand for keep waiting.
    const unserved = this.waiters.splice(
      0,
      Math.min(max - received, this.waiters.length - this.room),
    );
    for (const w of unserved) {
      if (failure) w.reject(failure.err);
      else w.resolve(null);
    }
    this.maybePull(start, signal);
  }
}
