import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import {
  EVENT_LOG_STREAM,
  type RunningService,
  type ServiceContext,
  type TestBus,
} from '@conform/bus';
import {
  sampleData,
  subjectFilterForType,
  type EventDataByType,
  type EventEnvelope,
  type EventType,
} from '@conform/contracts';
import type { IntegrationsConfig } from '@conform/config';
import type { EventPublisher } from '@conform/bus';
import { eventsOn } from '../src/index.js';

/** A debug-level logger whose every line is kept, to check what was (not) logged. */
export function capturingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

/** Every `type` event in the log. */
export async function eventsOfType<T extends EventType>(
  t: TestBus,
  type: T,
): Promise<EventEnvelope<T>[]> {
  return (await eventsOn(t.bus, subjectFilterForType(type))) as EventEnvelope<T>[];
}

/** Every message in the stream, raw, to look for what must never be there. */
export async function rawLog(t: TestBus): Promise<string> {
  const consumer = await t.bus.js.consumers.get(EVENT_LOG_STREAM);
  const info = await t.bus.jsm.streams.info(EVENT_LOG_STREAM);
  const out: string[] = [];
  if (info.state.messages === 0) return '';
  const messages = await consumer.consume();
  for await (const m of messages) {
    out.push(new TextDecoder().decode(m.data));
    if (m.info.pending === 0) break;
  }
  await messages.close();
  return out.join('\n');
}

/** Publishes a file.replaced (as the archiver would) for `fileId`. */
export function publishReplaced(
  publisher: EventPublisher,
  fileId: string,
  data: Partial<EventDataByType['file.replaced']>,
): Promise<EventEnvelope<'file.replaced'>> {
  return publisher.emit(
    { type: 'file.replaced', data: { ...sampleData['file.replaced'], ...data } },
    { fileId },
  );
}

/** Waits until a durable consumer has acked everything it was given. */
export async function consumerDrained(t: TestBus, durable: string, upToSeq: number) {
  const info = await t.bus.jsm.consumers.info(EVENT_LOG_STREAM, durable);
  return info.ack_floor.stream_seq >= upToSeq && info.num_ack_pending === 0;
}

export function integrations(over: Partial<IntegrationsConfig>): IntegrationsConfig {
  return {
    timeoutMs: 1_000,
    batchWindowMs: 1_000,
    batchMax: 16,
    mediaServers: [],
    arr: [],
    notifications: [],
    summaryAt: null,
    pauseWhilePlaying: null,
    ...over,
  };
}

export function contextOf(t: TestBus, publisher: EventPublisher, log: Logger): ServiceContext {
  return { bus: t.bus, publisher, log, eventLog: { maxBytes: 64 * 1024 * 1024 } };
}

export type { RunningService };
