import { Batcher, type HandlerContext } from '@conform/bus';
import type { DomainEvent } from '@conform/contracts';
import { orderForQueue, type PendingPlans, type QueueRule } from './order.js';

/** Publishes one file's plan events; how the handler hands them over. */
export type PublishPlans = (
  library: string,
  events: DomainEvent[],
  hctx: HandlerContext,
) => Promise<void>;

/** Straight away, in the order they were decided. */
export const publishAtOnce: PublishPlans = async (_library, events, hctx) => {
  for (const e of events) await hctx.emit(e);
};

/**
 * Gathers the plans decided within `windowMs` (at most `max`), then publishes them in queue
 * order (see {@link orderForQueue}); each handler resolves once its own file's events are
 * published, so its message is acked only then. A failed publish fails the whole batch, whose
 * messages are redelivered; what was published already is dropped as a duplicate.
 */
export function publishInQueueOrder(
  ruleOf: (library: string) => QueueRule,
  opts: { windowMs: number; max: number },
): PublishPlans {
  let arrival = 0;
  type Item = PendingPlans & { hctx: HandlerContext };
  const batcher = new Batcher<Item, void>(async (batch) => {
    for (const item of orderForQueue(batch, ruleOf)) {
      for (const e of item.events) await item.hctx.emit(e);
    }
    return batch.map(() => undefined);
  }, opts);
  return async (library, events, hctx) => {
    await batcher.submit({ library, events, hctx, arrival: arrival++ });
  };
}
