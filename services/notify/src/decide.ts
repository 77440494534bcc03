import { extname } from 'node:path';
import { assertNever, type EventEnvelope, type EventType } from '@conform/contracts';
import type { NotificationEvent } from '@conform/config';

/** A change to one path, as Jellyfin and Emby name them (`UpdateType`). */
export interface PathChange {
  path: string;
  type: 'Created' | 'Deleted' | 'Modified';
}

/** What notify does for one target about one event. Pure data; adapters carry it out. */
export type PlannedWork =
  | { action: 'refresh'; changes: PathChange[] }
  | { action: 'rescan'; path: string; why: string }
  | { action: 'notification'; event: NotificationEvent; facts: NotificationFacts };

/** What a notification says, before a template turns it into words. */
export interface NotificationFacts {
  type: EventType;
  eventId: string;
  time: string;
  fileId: string;
  library: string | null;
  path: string | null;
  newPath: string | null;
  bytesSaved: number | null;
  originalSize: number | null;
  newSize: number | null;
  reasons: string[];
}

/** The events each kind of target listens to. */
export const MEDIA_SERVER_EVENTS = ['file.replaced', 'file.restored'] as const;
export const ARR_EVENTS = ['file.replaced', 'file.restored'] as const;
export const NOTIFICATION_EVENTS = [
  'file.replaced',
  'encode.failed',
  'verify.failed',
  'replace.failed',
  'restore.failed',
  'message.deadlettered',
] as const;

export type NotifySourceEvent = EventEnvelope<
  (typeof MEDIA_SERVER_EVENTS)[number] | (typeof NOTIFICATION_EVENTS)[number]
>;

/**
 * What a media server must be told: the paths that changed. A swap that changed the name
 * (Film.avi → Film.mkv) deletes the old path and creates the new one; otherwise the file was
 * modified in place. Pure.
 */
export function planRefresh(event: NotifySourceEvent): PlannedWork | null {
  switch (event.type) {
    case 'file.replaced':
      return { action: 'refresh', changes: changesOf(event.data.path, event.data.newPath) };
    case 'file.restored':
      // The original is back at `path`; the replacement stood at `replacedPath`.
      return { action: 'refresh', changes: changesOf(event.data.replacedPath, event.data.path) };
    case 'encode.failed':
    case 'verify.failed':
    case 'replace.failed':
    case 'restore.failed':
    case 'message.deadlettered':
      return null;
    default:
      return assertNever(event, 'notify source event');
  }
}

/**
 * An *arr app tracks files by name, so it must rescan only when the name changed: an extension
 * or container change. An in-place re-encode keeps the name and needs nothing. Pure.
 */
export function planRescan(event: NotifySourceEvent): PlannedWork | null {
  const moved =
    event.type === 'file.replaced'
      ? { from: event.data.path, to: event.data.newPath }
      : event.type === 'file.restored'
        ? { from: event.data.replacedPath, to: event.data.path }
        : null;
  if (!moved || moved.from === moved.to) return null;
  const why =
    extname(moved.from).toLowerCase() === extname(moved.to).toLowerCase()
      ? 'file renamed'
      : `extension changed from ${extname(moved.from) || '(none)'} to ${extname(moved.to) || '(none)'}`;
  return { action: 'rescan', path: moved.to, why };
}

/**
 * The notification an event leads to for a target listening to `wanted`, or null. Dead letters
 * of notification consumers are not notified: a channel that is down would otherwise report
 * its own failure to itself (or two down channels to each other) forever. Pure.
 */
export function planNotification(
  event: NotifySourceEvent,
  wanted: readonly NotificationEvent[],
  opts: { planReasons?: string[]; isNotificationConsumer: (durable: string) => boolean },
): PlannedWork | null {
  const kind = notificationEventOf(event);
  if (!kind || !wanted.includes(kind)) return null;
  if (event.type === 'message.deadlettered' && opts.isNotificationConsumer(event.data.consumer)) {
    return null;
  }
  return { action: 'notification', event: kind, facts: factsOf(event, opts.planReasons ?? []) };
}

function notificationEventOf(event: NotifySourceEvent): NotificationEvent | null {
  switch (event.type) {
    case 'file.replaced':
      return 'replaced';
    case 'encode.failed':
    case 'verify.failed':
    case 'replace.failed':
    case 'restore.failed':
      return 'failed';
    case 'message.deadlettered':
      return 'deadlettered';
    case 'file.restored':
      return null;
    default:
      return assertNever(event, 'notify source event');
  }
}

function factsOf(event: NotifySourceEvent, planReasons: string[]): NotificationFacts {
  const base: NotificationFacts = {
    type: event.type,
    eventId: event.id,
    time: event.time,
    fileId: event.fileId,
    library: null,
    path: null,
    newPath: null,
    bytesSaved: null,
    originalSize: null,
    newSize: null,
    reasons: [],
  };
  switch (event.type) {
    case 'file.replaced': {
      const d = event.data;
      return {
        ...base,
        library: d.library,
        path: d.path,
        newPath: d.newPath,
        bytesSaved: d.bytesSaved,
        originalSize: d.originalSize,
        newSize: d.newSize,
        reasons: planReasons,
      };
    }
    case 'verify.failed': {
      const failed = event.data.checks.filter((c) => !c.passed);
      return {
        ...base,
        library: event.data.library,
        path: event.data.path,
        reasons: failed.map((c) => `${c.name}: measured ${c.measured}, limit ${c.limit}`),
      };
    }
    case 'encode.failed':
    case 'replace.failed':
    case 'restore.failed':
      return {
        ...base,
        library: event.data.library,
        path: event.data.path,
        reasons: [event.data.reason],
      };
    case 'message.deadlettered':
      return { ...base, reasons: [`${event.data.consumer}: ${event.data.reason}`] };
    case 'file.restored':
      return { ...base, library: event.data.library, path: event.data.path };
    default:
      return assertNever(event, 'notify source event');
  }
}

function changesOf(from: string, to: string): PathChange[] {
  return from === to
    ? [{ path: to, type: 'Modified' }]
    : [
        { path: from, type: 'Deleted' },
        { path: to, type: 'Created' },
      ];
}
