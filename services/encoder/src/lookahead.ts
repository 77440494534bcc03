/**
 * How close to its end a running encode must be for the next plan to be pulled ahead of a free
 * slot: long enough to hide a pull and the preparation (a log read, the argument list), short
 * enough that a plan pulled early never waits long behind a running encode while another node
 * sits idle.
 */
export const LOOKAHEAD_SEC = 3;

/**
 * Whether one more plan may be pulled for a device: while fewer plans than its slots are in
 * hand, and beyond that one successor per running encode that is about to end (encodes of
 * similar length end together, so one successor for all would leave the others' slots idle
 * for a pull). Pure.
 */
export function mayPull(inHand: number, slots: number, nearlyDone: number): boolean {
  return inHand < slots + Math.min(nearlyDone, slots);
}

/** One plan in hand: report its encode's progress, then let go of it. */
export interface PlanInHand {
  /** Seconds the running encode has left, when known. */
  progress(etaSec: number | null): void;
  /** Its encode no longer needs the device (ffmpeg ended, or the handler did); idempotent. */
  leave(): void;
}

/**
 * The pull gate of one device: every pull of its pools waits here, so the node holds plans
 * beyond its slots only as successors of encodes about to finish; the next encode then starts
 * the moment a slot frees, without a pull or a probe in between.
 */
export class PullGate {
  private inHand = 0;
  private readonly nearlyDone = new Set<object>();
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly slots: number,
    private readonly leadSec = LOOKAHEAD_SEC,
  ) {}

  /** Resolves once a pull may go ahead (or on abort). */
  whenMayPull(signal: AbortSignal): Promise<void> {
    if (signal.aborted || mayPull(this.inHand, this.slots, this.nearlyDone.size)) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const check = () => {
        if (!signal.aborted && !mayPull(this.inHand, this.slots, this.nearlyDone.size)) return;
        this.waiters.delete(check);
        signal.removeEventListener('abort', check);
        resolve();
      };
      this.waiters.add(check);
      signal.addEventListener('abort', check, { once: true });
    });
  }

  /** Counts one pulled plan until its handler is done with it. */
  enter(): PlanInHand {
    const key = {};
    this.inHand++;
    let left = false;
    return {
      progress: (etaSec) => {
        const near = etaSec !== null && etaSec <= this.leadSec;
        if (near === this.nearlyDone.has(key) || left) return;
        if (near) this.nearlyDone.add(key);
        else this.nearlyDone.delete(key);
        this.wake();
      },
      leave: () => {
        if (left) return;
        left = true;
        this.inHand--;
        this.nearlyDone.delete(key);
        this.wake();
      },
    };
  }

  private wake(): void {
    for (const check of [...this.waiters]) check();
  }
}
