// Start-up requests that may meet a slow nats-server. nats-server 2.9 answers a connection's
// JetStream API requests one after another in its read loop, and right after it restored a
// large store the first request about a filtered consumer makes it load every block's subject
// index (seconds at a million events): requests queued behind it pass nats.js's 5 s limit
// with the server still at work. Asking again is safe (the requests here are idempotent) and
// soon fast (the index is loaded); failing the whole start over it was not.
import type { Logger } from 'pino';

/** How long a start keeps asking a server that answers nothing but timeouts. */
export const PATIENCE_MS = 120_000;

/** A request nats.js gave up waiting for (its error says only "timeout"). */
export function isRequestTimeout(err: unknown): boolean {
  return (err as Error | undefined)?.name === 'TimeoutError';
}

/**
 * `request()`, asked again while it times out, for up to `budgetMs` in all; any other error,
 * or a timeout past the budget, is thrown as it came.
 */
export async function patiently<T>(
  what: string,
  request: () => Promise<T>,
  opts: { log?: Pick<Logger, 'warn'>; budgetMs?: number; now?: () => number } = {},
): Promise<T> {
  const now = opts.now ?? Date.now;
  const deadline = now() + (opts.budgetMs ?? PATIENCE_MS);
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (err) {
      if (!isRequestTimeout(err) || now() >= deadline) throw err;
      opts.log?.warn({ what, attempt }, 'nats-server is slow to answer; asking again');
    }
  }
}
