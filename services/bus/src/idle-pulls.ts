/**
 * Whether a pull loop of a consumer may pull now: any number at once while the consumer has
 * work, but only one at a time once a pull came back empty. Pure.
 */
export function mayPullNow(empty: boolean, pulling: number): boolean {
  return !empty || pulling === 0;
}

/**
 * Shared by the pull loops of one consumer. Every loop of an idle consumer waiting out its own
 * long pull costs a pull request, a heartbeat and an expiry a second per loop on both ends (an
 * encoder node has 4 loops on each of 15 pools), for nothing: one loop is enough to see the
 * next message. A pull that returns a message lets every loop pull again at once.
 */
export class IdlePulls {
  private empty = false;
  private pulling = 0;
  private readonly waiters = new Set<() => void>();

  /** Resolves (counted as pulling) once this loop may pull, or at once on abort. */
  async turn(signal: AbortSignal): Promise<void> {
    while (!signal.aborted && !mayPullNow(this.empty, this.pulling)) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          signal.removeEventListener('abort', wake);
          resolve();
        };
        this.waiters.add(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
    this.pulling++;
  }

  /** The loop's pull (taken with {@link turn}) is over: it brought a message, or none. */
  done(gotMessage: boolean): void {
    this.pulling--;
    this.empty = !gotMessage;
    for (const wake of [...this.waiters]) wake();
  }
}
