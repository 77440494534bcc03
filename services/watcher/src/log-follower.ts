import { DeliverPolicy, type ConsumerMessages, type JetStreamClient } from '@nats-io/jetstream';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeEvent, SUBJECT_PREFIX, type EventEnvelope } from '@conform/contracts';
import { EVENT_LOG_STREAM, type Logger } from '@conform/bus';

/** A running read of the event log's file events. */
export interface EventLogFollower {
  /** The last sequence read: every wanted event up to it has been applied. */
  position(): number;
  /** Messages the log delivered to this read (every subject), for the start-up log line. */
  delivered(): number;
  stop(): Promise<void>;
}

/** Every `file.*` event: the watcher's own announcements and the archiver's swaps. */
const FILE_SUBJECT_PREFIX = `${SUBJECT_PREFIX}.file.`;

/**
 * Reads every `file.*` event from the start of the log (or after `after`) with an ordered consumer, resolves once
 * it has caught up (so the caller knows everything announced before), and keeps following so
 * later swaps by the archiver arrive too. Invalid messages are skipped: the projector reports them.
 */
export async function followEventLog(
  js: JetStreamClient,
  apply: (event: EventEnvelope, sequence: number) => void,
  log: Logger,
  opts: {
    /** Event types worth decoding; the others are skipped unread (their subject says which). */
    types?: ReadonlySet<string>;
    /** A sequence already applied (the watcher's own publish, echoed back): not decoded again. */
    known?: (sequence: number) => boolean;
    /** Read only the events after this sequence (those up to it are applied already). */
    after?: number;
  } = {},
): Promise<EventLogFollower> {
  let stopped = false;
  let messages: ConsumerMessages | null = null;
  let lastSeq = opts.after ?? 0;
  let delivered = 0;
  let caughtUp!: () => void;
  const ready = new Promise<void>((r) => (caughtUp = r));

  const run = async () => {
    while (!stopped) {
      try {
        // No filter subject, though only file events are read: nats-server 2.9 counts a
        // filtered consumer's pending messages at creation by matching every subject of the
        // log, inside the request (4.3 s at 1,800,000 messages, holding up every other request
        // of the connection until they timed out: conform up could not start). Unfiltered, the
        // count is a subtraction; the few other events are skipped by subject, unread.
        const consumer = await js.consumers.get(EVENT_LOG_STREAM, {
          deliver_policy: lastSeq ? DeliverPolicy.StartSequence : DeliverPolicy.All,
          ...(lastSeq ? { opt_start_seq: lastSeq + 1 } : {}),
        });
        if ((await consumer.info()).num_pending === 0) caughtUp();
        // Large batches: a restart reads every file event of the library at once.
        messages = await consumer.consume({ max_messages: 5_000 });
        for await (const msg of messages) {
          if (msg.seq > lastSeq) {
            lastSeq = msg.seq;
            delivered++;
            // Decoding validates against the schema: at 100,000 files a restart reads every
            // planner event too, so only what the catalogue folds is decoded.
            if (wanted(msg.subject, opts.types) && !opts.known?.(msg.seq)) {
              const decoded = decodeEvent(msg.data);
              if (decoded.ok) apply(decoded.event, msg.seq);
            }
          }
          if (msg.info.pending === 0) caughtUp();
        }
      } catch (err) {
        if (stopped) break;
        log.warn({ err }, 'reading the event log failed; retrying');
        await sleep(1_000);
      }
    }
  };
  const running = run();
  await ready;
  return {
    position: () => lastSeq,
    delivered: () => delivered,
    stop: async () => {
      stopped = true;
      caughtUp();
      messages?.stop();
      await running;
    },
  };
}

/**
 * Whether an event subject (`conform.evt.file.discovered.<id>`) is a file event of one of
 * these types (of any type without them).
 */
export function wanted(subject: string, types: ReadonlySet<string> | undefined): boolean {
  if (!types) return subject.startsWith(FILE_SUBJECT_PREFIX);
  const prefix = SUBJECT_PREFIX.length + 1;
  const end = subject.lastIndexOf('.');
  return end > prefix && types.has(subject.slice(prefix, end));
}
