import { createHash } from 'node:crypto';
import type { EventType } from './event-types.js';
import type { DomainEvent, EventDataByType } from './events.js';

/** The version every current event type is published with. A new incompatible shape gets a new number. */
export const CURRENT_VERSION = 1 as const;

/** Metadata every event carries, whatever its type. */
export interface EnvelopeMeta {
  /** Deterministic id, also used as Nats-Msg-Id so a re-publish is deduplicated. */
  id: string;
  version: number;
  /** ISO-8601 time the producer created the event. */
  time: string;
  fileId: string;
  /** One per file lifecycle run: every event caused (transitively) by one discovery shares it. */
  correlationId: string;
  /** Id of the event that caused this one; null for events caused by the outside world. */
  causationId: string | null;
  /** Service name and host, e.g. `encoder@nas`. */
  producer: string;
}

/** A published event: envelope metadata plus a typed `type` and `data`. */
export type EventEnvelope<T extends EventType = EventType> = {
  [K in T]: EnvelopeMeta & { type: K; data: EventDataByType[K] };
}[T];

/** File ids travel as a subject token, so they must not contain `.`, `*`, `>` or white space. */
export const FILE_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
const fileIdRe = new RegExp(FILE_ID_PATTERN);

export function isValidFileId(id: string): boolean {
  return fileIdRe.test(id);
}

/** A stable, subject-safe id for a file from its library and path relative to it. */
export function fileIdFor(library: string, relativePath: string): string {
  return 'f' + sha256(`${library}\0${relativePath}`).slice(0, 23);
}

/**
 * The deterministic event id: the same cause always yields the same id, so a handler that
 * runs twice publishes a duplicate JetStream drops (Nats-Msg-Id) instead of a second event.
 */
export function eventIdFor(
  fileId: string,
  type: EventType,
  version: number,
  causationId: string | null,
  discriminator = '',
): string {
  const h = sha256(`${fileId}|${type}|${version}|${causationId ?? ''}|${discriminator}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export interface WrapOptions {
  fileId: string;
  producer: string;
  time: Date;
  /** The event this one answers; its correlation id is inherited. */
  causation?: EnvelopeMeta | null;
  /** For events without a cause (e.g. discoveries): what makes this occurrence unique. */
  discriminator?: string;
  /** Correlation id for a new lifecycle run; defaults to the event's own id. */
  correlationId?: string;
}

/** Puts a domain event into an envelope with deterministic id and inherited correlation. */
export function wrap<E extends DomainEvent>(event: E, opts: WrapOptions): EventEnvelope<E['type']> {
  const causationId = opts.causation?.id ?? null;
  const id = eventIdFor(opts.fileId, event.type, CURRENT_VERSION, causationId, opts.discriminator);
  return {
    id,
    type: event.type,
    version: CURRENT_VERSION,
    time: opts.time.toISOString(),
    fileId: opts.fileId,
    correlationId: opts.causation?.correlationId ?? opts.correlationId ?? id,
    causationId,
    producer: opts.producer,
    data: event.data,
  } as EventEnvelope<E['type']>;
}

/** The subject an event is published on. */
export function subjectFor(type: EventType, fileId: string): string {
  return `${SUBJECT_PREFIX}.${type}.${fileId}`;
}

/** Every event subject starts with this; the event-log stream captures `conform.evt.>`. */
export const SUBJECT_PREFIX = 'conform.evt';

/** Subject filter for one event type from every file. */
export function subjectFilterForType(type: EventType): string {
  return `${SUBJECT_PREFIX}.${type}.*`;
}

/** Subject filter for one file's whole history. */
export function subjectFilterForFile(fileId: string): string {
  return `${SUBJECT_PREFIX}.*.*.${fileId}`;
}

/** Reads the file id (last token) back out of an event subject, if it is one. */
export function fileIdFromSubject(subject: string): string | null {
  const parts = subject.split('.');
  if (parts.length !== 5 || `${parts[0]}.${parts[1]}` !== SUBJECT_PREFIX) return null;
  const id = parts[4] ?? '';
  return isValidFileId(id) ? id : null;
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
