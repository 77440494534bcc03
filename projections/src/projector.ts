import { setTimeout as sleep } from 'node:timers/promises';
import { DeliverPolicy, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { createBatchDecoder, type EventEnvelope } from '@conform/contracts';
import {
  EVENT_LOG_STREAM,
  provisionEventLog,
  type RunningService,
  type ServiceContext,
} from '@conform/bus';
import {
  applyBatch,
  lastAppliedSequence,
  readModelProjections,
  type PositionedEvent,
} from './checkpoint.js';
import { BULK_CATCH_UP_MIN, catchUpInBulk } from './catch-up.js';
import { ProjectorStoppedError, ProjectorWaitTimeoutError } from './errors.js';
import type { ReadModels } from './read-models.js';
import type { Projection } from './projection.js';

/** A running projector; `waitForSequence` resolves once the read models include that sequence. */
export type RunningProjector = RunningService & {
  waitForSequence(seq: number, timeoutMs?: number): Promise<void>;
};

/** Events per transaction while the projector catches up (live, each event is its own). */
// Kept at 1,000: a batch of decoded events lives until its transaction, and larger ones
// survive young collections (the replay writes per event for that reason); memory of a
// catching-up `conform up` matters more than the last few per cent of catch-up rate.
export const DEFAULT_CATCH_UP_BATCH = 1_000;

/** Options of {@link startProjector}. */
export interface ProjectorOptions {
  readModels: ReadModels;
  /** Read models to feed; defaults to every one `openReadModels` creates. */
  projections?: readonly Projection[];
  /** Pause before re-creating the consumer after a failure. */
  retryDelayMs?: number;
  /** Most events applied in one transaction (and pulled at once) while catching up; default 1,000. */
  maxBatch?: number;
  /**
   * How often to check that the projection keeps up: when the log has grown past the last
   * applied sequence and nothing was applied since the previous check, the consumer is
   * re-created from the checkpoint. Default 5 s.
   */
  stallCheckMs?: number;
  /**
   * Called after each applied event (the status server's live stream listens here); not for
   * the events of a bulk catch-up.
   */
  onApplied?: (event: EventEnvelope, sequence: number) => void;
  /**
   * How far behind the log (in sequences) the read models must be for the projector to catch
   * up through the bulk path first; default {@link BULK_CATCH_UP_MIN}.
   */
  bulkCatchUpMin?: number;
}

/** How long a live event waits for others to share its transaction. */
export const LIVE_FLUSH_MS = 20;

interface Waiter {
  seq: number;
  resolve(): void;
  reject(err: Error): void;
}

/**
 * Projects the whole event log into the read models. An ordered consumer (no durable state on
 * the server: the checkpoint in SQLite is the position) starts right after the checkpoint, so a
 * restart neither skips nor re-applies. A message that is not a valid event is logged and
 * skipped with the checkpoint advanced.
 */
export async function startProjector(
  ctx: ServiceContext,
  opts: ProjectorOptions,
): Promise<RunningProjector> {
  const { db } = opts.readModels;
  const log = ctx.log.child({ service: 'projector' });
  await provisionEventLog(ctx.bus.jsm, ctx.eventLog);
  let applied = await lastAppliedSequence(db);
  const abort = new AbortController();
  let messages: ConsumerMessages | null = null;
  let waiters: Waiter[] = [];

  const settleWaiters = () => {
    const ready = waiters.filter((w) => w.seq <= applied);
    waiters = waiters.filter((w) => w.seq > applied);
    for (const w of ready) w.resolve();
  };

  const maxBatch = Math.max(1, opts.maxBatch ?? DEFAULT_CATCH_UP_BATCH);
  // Schemas compiled once per event type, valid events on the fast path (see createBatchDecoder).
  const decoder = createBatchDecoder();
  let batch: PositionedEvent[] = [];
  const collect = (msg: JsMsg) => {
    const decoded = decoder.decode(msg.data);
    if (!decoded.ok) {
      log.error(
        { subject: msg.subject, seq: msg.seq, error: decoded.error },
        'skipping a message that is not a valid event',
      );
    }
    batch.push({ position: msg.seq, event: decoded.ok ? decoded.event : null });
  };
  // Catching up, up to maxBatch share one transaction and one checkpoint write. Live (pending
  // is 0), what arrives within LIVE_FLUSH_MS shares one: a watcher announcing a library's files
  // one by one would otherwise cost a transaction and a checkpoint write per event.
  let flushTimer: NodeJS.Timeout | undefined;
  // A live flush that failed: the consume loop stops taking messages at once (nothing after
  // the failed batch may be applied before it) and takes the usual way back to the checkpoint.
  let flushFailure: unknown;
  const flushSoon = () => {
    flushTimer ??= setTimeout(() => {
      flushTimer = undefined;
      try {
        flush();
      } catch (err) {
        flushFailure = err;
        messages?.stop();
      }
    }, LIVE_FLUSH_MS);
  };
  const flush = () => {
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = undefined;
    if (batch.length === 0) return;
    const done = batch;
    batch = [];
    applied = Math.max(applied, applyBatch(opts.readModels.sqlite, done, opts));
    if (opts.onApplied) {
      for (const { event, position } of done) {
        if (event) opts.onApplied(event, position);
      }
    }
    settleWaiters();
  };

  // Far behind the log: the bulk path first (see catchUpInBulk); true when it ran (the log is
  // then checked again: it may have grown meanwhile).
  const bulkMin = Math.max(1, opts.bulkCatchUpMin ?? BULK_CATCH_UP_MIN);
  const catchUp = async (): Promise<boolean> => {
    // The worker writes the read models `openReadModels` creates, no others.
    if (opts.projections && opts.projections !== readModelProjections) return false;
    const reached = await catchUpInBulk(ctx.bus, opts.readModels, applied, {
      minBehind: bulkMin,
      signal: abort.signal,
      log,
      onProgress: (checkpoint) => {
        applied = Math.max(applied, checkpoint);
        settleWaiters();
      },
    });
    if (reached === null) return false;
    applied = Math.max(applied, reached);
    settleWaiters();
    return true;
  };

  const run = async () => {
    while (!abort.signal.aborted) {
      try {
        while (!abort.signal.aborted && (await catchUp())) {
          // Again: the log may have grown by more than bulkMin meanwhile.
        }
        if (abort.signal.aborted) break;
        const consumer = await ctx.bus.js.consumers.get(EVENT_LOG_STREAM, {
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: applied + 1,
        });
        // The default of 100 messages per pull makes catching up a round trip every few
        // dozen events; live, messages arrive as they are published whatever this is.
        messages = await consumer.consume({ max_messages: maxBatch });
        if (abort.signal.aborted) break;
        for await (const msg of messages) {
          if (abort.signal.aborted || flushFailure !== undefined) break;
          // The ordered consumer re-creates itself on gaps and may replay what we applied.
          if (msg.seq <= Math.max(applied, batch.at(-1)?.position ?? 0)) continue;
          collect(msg);
          if (batch.length >= maxBatch) flush();
          else if (msg.info.pending === 0) flushSoon();
        }
        if (flushFailure !== undefined) throw flushFailure;
        flush(); // the consumer is re-created from `applied`: nothing may wait in the batch
      } catch (err) {
        clearTimeout(flushTimer);
        flushTimer = undefined;
        flushFailure = undefined;
        batch = [];
        if (abort.signal.aborted) break;
        log.warn({ err, from: applied + 1 }, 'projection interrupted; restarting the consumer');
        // Whatever failed may have left the database behind our in-memory position.
        applied = await lastAppliedSequence(db).catch(() => applied);
      } finally {
        const m = messages;
        messages = null;
        await m?.close().catch(() => undefined);
      }
      if (!abort.signal.aborted) {
        await sleep(opts.retryDelayMs ?? 1_000, undefined, { signal: abort.signal }).catch(
          () => undefined,
        );
      }
    }
  };

  // A cluster server that dies can take the (R1, in-memory) ordered consumer with it, and the
  // client does not always notice: a pull waits for a server that no longer has it. The log
  // says whether there is something to apply; if so and nothing moved, start over.
  let seenAt = applied;
  const watchdog = setInterval(() => {
    void (async () => {
      const stuck = applied === seenAt;
      seenAt = applied;
      if (!stuck || !messages || abort.signal.aborted) return;
      const info = await ctx.bus.jsm.streams.info(EVENT_LOG_STREAM).catch(() => null);
      if (info && info.state.last_seq > applied && messages) {
        log.warn(
          { applied, last: info.state.last_seq },
          'projection stalled behind the log; restarting the consumer',
        );
        messages.stop();
      }
    })();
  }, opts.stallCheckMs ?? 5_000);
  watchdog.unref();

  const running = run();
  log.info({ from: applied + 1 }, 'projector started');
  return {
    name: 'projector',
    waitForSequence(seq: number, timeoutMs = 10_000): Promise<void> {
      if (seq <= applied) return Promise.resolve();
      if (abort.signal.aborted) {
        return Promise.reject(new ProjectorStoppedError('the projector is stopped'));
      }
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== waiter);
          reject(
            new ProjectorWaitTimeoutError(
              `sequence ${seq} not applied within ${timeoutMs} ms (at ${applied})`,
            ),
          );
        }, timeoutMs);
        const waiter: Waiter = {
          seq,
          resolve: () => (clearTimeout(timer), resolve()),
          reject: (err) => (clearTimeout(timer), reject(err)),
        };
        waiters.push(waiter);
      });
    },
    async stop() {
      if (abort.signal.aborted) return running;
      abort.abort(new Error('projector stopping'));
      clearInterval(watchdog);
      messages?.stop();
      await running;
      // What arrived in the last LIVE_FLUSH_MS is applied, not left for the next start.
      try {
        flush();
      } catch (err) {
        log.warn({ err }, 'could not apply the last events before stopping; the next start will');
      }
      for (const w of waiters) w.reject(new ProjectorStoppedError('the projector was stopped'));
      waiters = [];
      log.info({ applied }, 'projector stopped');
    },
  };
}
