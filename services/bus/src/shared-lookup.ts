/**
 * One lookup shared by the pull loops of a worker: they ask for their consumer together (at a
 * start, and after a failure that broke them all), and one request answers them all. Looked up
 * one by one, their answers came back spread over several turns of the event loop under load,
 * so the first idle pull (see IdlePulls) stood for only the loops that had arrived, and a
 * start cost a consumer-info request per loop.
 */
export class SharedLookup<T> {
  private current: Promise<T> | null = null;

  constructor(private readonly lookup: () => Promise<T>) {}

  /** The value looked up, or the lookup in flight; a failed one is retried by the next get. */
  get(): Promise<T> {
    if (!this.current) {
      const pending = this.lookup();
      this.current = pending;
      pending.catch(() => this.forget(pending));
    }
    return this.current;
  }

  /** A loop failed with what `got` gave it: the next get looks up again (once, for all). */
  forget(got: Promise<T>): void {
    if (this.current === got) this.current = null;
  }
}
