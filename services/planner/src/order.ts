import type { QueueOrder } from '@conform/config';
import type { DomainEvent, FilePlannedData } from '@conform/contracts';

/** How one library's plans are queued: its priority, its place in the config, its order. */
export interface QueueRule {
  priority: number;
  /** The library's position in the config; breaks ties between libraries of one priority. */
  rank: number;
  order: QueueOrder | null;
}

/** The plans of one file, waiting to be published with the rest of their batch. */
export interface PendingPlans {
  library: string;
  events: DomainEvent[];
  /** Arrival order within the batch; the last tie-breaker, so equal keys stay as discovered. */
  arrival: number;
}

/** A number that sorts a library's plans in its `order` (ascending). Pure. */
export function queueKey(planned: FilePlannedData | null, order: QueueOrder | null): number {
  if (!planned || planned.decision !== 'encode' || order === null) return 0;
  const { size, mtimeMs } = planned.source;
  switch (order) {
    case 'smallest':
      return size;
    case 'largest':
      return -size;
    case 'oldest':
      return mtimeMs;
    case 'newest':
      return -mtimeMs;
    case 'biggest-saving':
      return -(size - (planned.estimatedOutputBytes ?? size));
    default: {
      const never: never = order;
      throw new Error(`unknown queue order ${String(never)}`);
    }
  }
}

/**
 * The order a batch of plans is published in, which is the order encoders take them (the encode
 * consumer delivers in stream order): higher priority first, then libraries in config order,
 * then each library's own `order`, then as they arrived. Pure.
 */
export function orderForQueue<T extends PendingPlans>(
  batch: readonly T[],
  ruleOf: (library: string) => QueueRule,
): T[] {
  const keyed = batch.map((item) => {
    const rule = ruleOf(item.library);
    const planned = item.events.find((e) => e.type === 'file.planned');
    const data = planned?.type === 'file.planned' ? planned.data : null;
    return { item, rule, key: queueKey(data, rule.order) };
  });
  keyed.sort(
    (a, b) =>
      b.rule.priority - a.rule.priority ||
      a.rule.rank - b.rule.rank ||
      a.key - b.key ||
      a.item.arrival - b.item.arrival,
  );
  return keyed.map((k) => k.item);
}
