import {
  decodeEvent,
  PROGRESS_SUBJECT_PREFIX,
  PROGRESS_SUBJECT_WILDCARD,
  SUBJECT_PREFIX,
} from '@conform/contracts';
import type { Bus, Logger } from '@conform/bus';

type NatsConnection = Bus['nc'];
type Subscription = ReturnType<NatsConnection['subscribe']>;

/** The latest progress an encoder reported for one file. */
export interface EncodeProgress {
  fileId: string;
  /** 0..100 when known. */
  percent: number | null;
  fps: number | null;
  speed: number | null;
  /** Seconds left at the current speed, when the encoder said. */
  etaSec: number | null;
  /** The encoder node and ffmpeg encoder, when the encoder said. */
  node: string | null;
  encoder: string | null;
  /** When we received it, ISO-8601. */
  at: string;
}

/** What the live stream sends: an event as it was published, or a progress report. */
export type LiveMessage =
  | {
      kind: 'event';
      id: string;
      type: string;
      fileId: string;
      time: string;
      producer: string;
      path: string | null;
    }
  | ({ kind: 'progress' } & EncodeProgress);

/** Fans events and progress out to listeners (SSE clients) and keeps the latest progress. */
export interface LiveFeed {
  progress(fileId: string): EncodeProgress | null;
  subscribe(listener: (message: LiveMessage) => void): () => void;
  /** Whether the feed is subscribed to the events now (a client listens, or progress is held). */
  readonly followingEvents: boolean;
  close(): void;
}

/**
 * Listens on core NATS: JetStream publishes are delivered to plain subscribers too, so the
 * live stream costs the event log nothing; progress is core-only by design (ephemeral).
 */
export function startLiveFeed(nc: NatsConnection | null, log: Logger): LiveFeed {
  const listeners = new Set<(message: LiveMessage) => void>();
  const latest = new Map<string, EncodeProgress>();
  const subs: Subscription[] = [];
  const send = (message: LiveMessage) => {
    for (const listener of listeners) listener(message);
  };
  // The events are needed only while a client listens or a file has progress to forget (the
  // views show progress for the read model's active encodes only). Otherwise nothing is
  // subscribed: a first scan's events are then delivered to this process once (the
  // projector's), not a second time here, decoded and validated again.
  let events: Subscription | null = null;
  let closed = false;
  const onEvent = (err: Error | null, msg: { data: Uint8Array }) => {
    if (err) return;
    const decoded = decodeEvent(msg.data);
    if (!decoded.ok) return;
    const e = decoded.event;
    const data = e.data as { path?: unknown };
    if (e.type !== 'encode.started') latest.delete(e.fileId);
    send({
      kind: 'event',
      id: e.id,
      type: e.type,
      fileId: e.fileId,
      time: e.time,
      producer: e.producer,
      path: typeof data.path === 'string' ? data.path : null,
    });
    followEvents();
  };
  const followEvents = () => {
    if (!nc || closed || nc.isClosed()) return;
    const needed = listeners.size > 0 || latest.size > 0;
    if (needed && !events) {
      events = nc.subscribe(`${SUBJECT_PREFIX}.>`, { callback: onEvent });
    } else if (!needed && events) {
      events.unsubscribe();
      events = null;
    }
  };
  if (nc) {
    subs.push(
      nc.subscribe(PROGRESS_SUBJECT_WILDCARD, {
        callback: (err, msg) => {
          if (err) return;
          const progress = parseProgress(
            msg.subject.slice(PROGRESS_SUBJECT_PREFIX.length + 1),
            msg.data,
          );
          if (!progress) {
            log.debug({ subject: msg.subject }, 'ignoring progress that is not JSON');
            return;
          }
          latest.set(progress.fileId, progress);
          followEvents();
          send({ kind: 'progress', ...progress });
        },
      }),
    );
  }
  return {
    progress: (fileId) => latest.get(fileId) ?? null,
    subscribe(listener) {
      listeners.add(listener);
      followEvents();
      return () => {
        listeners.delete(listener);
        followEvents();
      };
    },
    get followingEvents() {
      return events !== null;
    },
    close() {
      closed = true;
      events?.unsubscribe();
      events = null;
      for (const s of subs) s.unsubscribe();
      listeners.clear();
    },
  };
}

/**
 * Reads a progress report leniently: the encoder owns its shape, so take the figures a
 * progress bar needs (`percent` or `fraction`, `fps`, `speed`) and ignore the rest.
 */
export function parseProgress(fileId: string, data: Uint8Array): EncodeProgress | null {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const r = raw as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  const fraction = num(r.fraction);
  const percent = num(r.percent) ?? (fraction !== null ? fraction * 100 : null);
  return {
    fileId,
    percent: percent === null ? null : Math.max(0, Math.min(100, percent)),
    fps: num(r.fps),
    speed: num(r.speed),
    etaSec: num(r.etaSec),
    node: str(r.node),
    encoder: str(r.encoder),
    at: new Date().toISOString(),
  };
}
