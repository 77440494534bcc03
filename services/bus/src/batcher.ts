/** One item's result, and how many items its batch held. */
export interface Batched<R> {
  result: R;
  size: number;
}

/**
 * Gathers items that arrive within `windowMs` (at most `max`) and runs them as one batch, so a
 * season of episodes swapped at once becomes one request per server instead of one per file.
 * Each `submit` resolves with its own item's result, or rejects with the batch's error: its
 * message is acked only after the request that covered it succeeded.
 */
export class Batcher<T, R> {
  private pending: {
    item: T;
    resolve: (r: Batched<R>) => void;
    reject: (e: unknown) => void;
  }[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly run: (items: T[]) => Promise<R[]>,
    private readonly opts: { windowMs: number; max: number },
  ) {}

  submit(item: T): Promise<Batched<R>> {
    return new Promise<Batched<R>>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.opts.max) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.opts.windowMs);
    });
  }

  /** Runs whatever is waiting now (also what stopping does). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    this.run(batch.map((b) => b.item)).then(
      (results) => batch.forEach((b, i) => b.resolve({ result: results[i]!, size: batch.length })),
      (err: unknown) => batch.forEach((b) => b.reject(err)),
    );
  }
}
