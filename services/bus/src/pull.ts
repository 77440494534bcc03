import type { Consumer, JsMsg } from '@nats-io/jetstream';

/**
 * One message from a pull consumer, or null when `expiresMs` passes with none; an abort ends
 * the wait at once (resolving null). `consumer.next()` cannot be cancelled, so an idle worker
 * told to stop would sit out its whole pull: seconds per service at every shutdown.
 */
export async function pullNext(
  consumer: Consumer,
  expiresMs: number,
  signal: AbortSignal,
): Promise<JsMsg | null> {
  if (signal.aborted) return null;
  const batch = await consumer.fetch({ max_messages: 1, expires: expiresMs });
  const onAbort = () => batch.stop();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const msg of batch) return msg;
    return null;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
