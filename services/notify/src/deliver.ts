import { TransientError, type Bus, type EventHandler } from '@conform/bus';
import {
  subjectFor,
  type EventEnvelope,
  type IntegrationKind,
  type NotifyAction,
} from '@conform/contracts';
import type { Delivery } from './adapters/types.js';
import type { NotifySourceEvent } from './decide.js';
import { IntegrationError } from './errors.js';
import { eventsOn } from './history.js';

/** What one target does with one event: its plan, and carrying the plan out. */
export interface TargetHandling<W> {
  target: { name: string; kind: IntegrationKind };
  action: NotifyAction;
  /** Read what the plan needs, then plan (pure); null: nothing to do for this event. */
  plan(event: NotifySourceEvent): Promise<W | null>;
  /** Carry the plan out; null when the target turned out not to own the file (an *arr app). */
  perform(work: W, signal: AbortSignal): Promise<{ delivery: Delivery | null; batched: number }>;
}

export interface DeliveryOptions {
  bus: Pick<Bus, 'js' | 'jsm'>;
  /** The consumer's attempts; the last failing one is dead-lettered by the worker. */
  maxDeliver: number;
  /** First retry delay; doubled per attempt, at most 5 minutes. */
  retryDelayMs: number;
}

/**
 * The handler of one (target, event type) consumer: plan, act, then record `notify.sent`.
 * A failure records `notify.failed` with the reason; a permanent one (401, 404, …) is acked
 * since asking again cannot help, anything else is retried with backoff and finally
 * dead-lettered. Each target has its own consumers, so one that is down delays nothing else.
 */
export function deliveryHandler<W>(h: TargetHandling<W>, opts: DeliveryOptions): EventHandler {
  return async (envelope, ctx) => {
    const event = envelope as NotifySourceEvent;
    const work = await h.plan(event);
    if (!work) return;
    // A redelivery may follow a crash between the request and the ack: check the log first.
    if (ctx.attempt > 1 && (await alreadySent(opts.bus, event, h.target.name))) return;
    let result: { delivery: Delivery | null; batched: number };
    try {
      result = await h.perform(work, ctx.signal);
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      const e =
        err instanceof IntegrationError
          ? err
          : new IntegrationError(`${h.target.name}: ${(err as Error).message ?? String(err)}`, {
              status: null,
              permanent: false,
              cause: err,
            });
      const final = e.permanent || ctx.attempt >= opts.maxDeliver;
      await ctx.emit(
        {
          type: 'notify.failed',
          data: {
            target: h.target.name,
            kind: h.target.kind,
            action: h.action,
            reason: e.message,
            status: e.status,
            attempt: ctx.attempt,
            final,
          },
        },
        { discriminator: `${h.target.name}:${ctx.attempt}` },
      );
      ctx.log.warn(
        { target: h.target.name, reason: e.message, attempt: ctx.attempt, final },
        final ? 'integration failed; giving up' : 'integration failed; will retry',
      );
      if (e.permanent) return;
      const delayMs = Math.min(opts.retryDelayMs * 2 ** (ctx.attempt - 1), 300_000);
      throw new TransientError(e.message, { cause: e, delayMs });
    }
    if (!result.delivery) {
      ctx.log.debug({ target: h.target.name, path: event.data }, 'not owned by this target');
      return;
    }
    await ctx.emit(
      {
        type: 'notify.sent',
        data: {
          target: h.target.name,
          kind: h.target.kind,
          action: h.action,
          request: result.delivery.request,
          paths: result.delivery.paths,
          batched: result.batched,
          status: result.delivery.status,
        },
      },
      { discriminator: h.target.name },
    );
  };
}

async function alreadySent(
  bus: Pick<Bus, 'js' | 'jsm'>,
  event: EventEnvelope,
  target: string,
): Promise<boolean> {
  const sent = await eventsOn(bus, subjectFor('notify.sent', event.fileId));
  return sent.some(
    (e) => e.type === 'notify.sent' && e.causationId === event.id && e.data.target === target,
  );
}
