/**
 * Every event type conform publishes. The value is also the middle of the subject
 * (`conform.evt.<type>.<fileId>`), so each type is exactly two dot-separated tokens,
 * and each type is written by exactly one service.
 */
export const EventType = {
  FileDiscovered: 'file.discovered',
  FileChanged: 'file.changed',
  FileMoved: 'file.moved',
  FileRemoved: 'file.removed',
  FileUnreadable: 'file.unreadable',
  FileProbed: 'file.probed',
  FilePlanned: 'file.planned',
  EncodeStarted: 'encode.started',
  EncodeCompleted: 'encode.completed',
  EncodeFailed: 'encode.failed',
  EncodeRequeued: 'encode.requeued',
  VerifyPassed: 'verify.passed',
  VerifyFailed: 'verify.failed',
  FileReplaced: 'file.replaced',
  ReplaceFailed: 'replace.failed',
  FileKept: 'file.kept',
  FileRestored: 'file.restored',
  RestoreFailed: 'restore.failed',
  OriginalDeleted: 'original.deleted',
  EncoderPaused: 'encoder.paused',
  EncoderResumed: 'encoder.resumed',
  MessageDeadLettered: 'message.deadlettered',
  NotifySent: 'notify.sent',
  NotifyFailed: 'notify.failed',
  PlaybackStarted: 'playback.started',
  PlaybackEnded: 'playback.ended',
  ControlRequested: 'control.requested',
} as const;

/** One of the values of {@link EventType}. */
export type EventType = (typeof EventType)[keyof typeof EventType];

export const allEventTypes: readonly EventType[] = Object.values(EventType);

export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && (allEventTypes as readonly string[]).includes(value);
}

/** The service that owns (is the only writer of) each event type. */
export const eventProducer: Record<EventType, ServiceName> = {
  'file.discovered': 'watcher',
  'file.changed': 'watcher',
  'file.moved': 'watcher',
  'file.removed': 'watcher',
  'file.unreadable': 'planner',
  'file.probed': 'planner',
  'file.planned': 'planner',
  'encode.started': 'encoder',
  'encode.completed': 'encoder',
  'encode.failed': 'encoder',
  'encode.requeued': 'encoder',
  'verify.passed': 'verifier',
  'verify.failed': 'verifier',
  'file.replaced': 'archiver',
  'replace.failed': 'archiver',
  'file.kept': 'archiver',
  'file.restored': 'archiver',
  'restore.failed': 'archiver',
  'original.deleted': 'archiver',
  'encoder.paused': 'encoder',
  'encoder.resumed': 'encoder',
  'notify.sent': 'notify',
  'notify.failed': 'notify',
  'playback.started': 'notify',
  'playback.ended': 'notify',
  // Any service may dead-letter a message it could not handle.
  'message.deadlettered': 'bus',
  // An operator's request, from the CLI or the status API.
  'control.requested': 'control',
};

/** The services of the pipeline, plus `bus` for events the transport itself writes. */
export const ServiceName = {
  Watcher: 'watcher',
  Planner: 'planner',
  Encoder: 'encoder',
  Verifier: 'verifier',
  Archiver: 'archiver',
  Notify: 'notify',
  Projector: 'projector',
  Status: 'status',
  Bus: 'bus',
  Control: 'control',
} as const;

/** One of the values of {@link ServiceName}. */
export type ServiceName = (typeof ServiceName)[keyof typeof ServiceName];
