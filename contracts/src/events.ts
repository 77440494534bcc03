import type { EventType } from './event-types.js';

/** Size and mtime of a source file when it was discovered; a swap only happens if they still match. */
export interface SourceStamp {
  size: number;
  mtimeMs: number;
}

/** Where a file lives: the library root and the absolute path inside it. */
export interface FileLocation {
  /** Absolute path of the library root the file belongs to. */
  library: string;
  /** Absolute path of the file. */
  path: string;
}

/** What the planner learned from ffprobe, reduced to what decisions need. */
export interface MediaSummary {
  container: string;
  durationSec: number | null;
  bitRate: number | null;
  video: { codec: string; width: number; height: number; pixFmt: string | null } | null;
  audioStreams: number;
  subtitleStreams: number;
}

/** The output the policy asks for. */
export interface EncodeTarget {
  videoCodec: 'hevc';
  container: 'mkv' | 'mp4';
}

/** A single verification check with what was measured and the limit it was held to. */
export interface VerificationCheck {
  name: string;
  passed: boolean;
  measured: string | number | null;
  limit: string | number | null;
}

export type PlanDecision = 'encode' | 'skip' | 'compliant';

export interface FileDiscoveredData extends FileLocation, SourceStamp {
  relativePath: string;
}
export interface FileUnreadableData extends FileLocation {
  source: SourceStamp;
  reason: string;
}
export interface FileProbedData extends FileLocation {
  source: SourceStamp;
  media: MediaSummary;
}
export interface FilePlannedData extends FileLocation {
  source: SourceStamp;
  decision: PlanDecision;
  reasons: string[];
  policyVersion: string;
  /** Present when decision is `encode`. */
  target: EncodeTarget | null;
  durationSec: number | null;
  estimatedOutputBytes: number | null;
}
export interface EncodeStartedData extends FileLocation {
  encoder: string;
  outputPath: string;
  attempt: number;
}
export interface EncodeCompletedData extends FileLocation {
  source: SourceStamp;
  target: EncodeTarget;
  encoder: string;
  outputPath: string;
  outputSize: number;
  elapsedMs: number;
}
export interface EncodeFailedData extends FileLocation {
  encoder: string;
  reason: string;
  /** True when retrying cannot help (unsupported input); false for transient failures. */
  permanent: boolean;
}
export interface VerificationData extends FileLocation {
  source: SourceStamp;
  target: EncodeTarget;
  outputPath: string;
  checks: VerificationCheck[];
}
export interface FileReplacedData extends FileLocation {
  newPath: string;
  archivePath: string;
  originalSize: number;
  newSize: number;
  bytesSaved: number;
}
export interface ReplaceFailedData extends FileLocation {
  reason: string;
  /** True when the source changed after it was planned; the output was discarded. */
  stale: boolean;
}
export interface MessageDeadLetteredData {
  subject: string;
  streamSequence: number;
  consumer: string;
  deliveries: number;
  reason: string;
  /** The raw payload as text, truncated, so nothing about the bad message is lost from view. */
  payload: string;
}

/** What an operator can ask for. */
export type ControlAction = 'pause' | 'resume' | 'retry' | 'restore';

/**
 * An operator's request. `pause`/`resume` address every encoder (fileId {@link CONTROL_FILE_ID},
 * path null); `retry`/`restore` address one file (its fileId and path).
 */
export interface ControlRequestedData {
  action: ControlAction;
  path: string | null;
  /** For pause: also stop running encodes and return them to the queue. */
  now: boolean;
  /** Who asked, e.g. `cli@nas` or `api@127.0.0.1`. */
  requestedBy: string;
}

/** The fileId of control requests that are not about one file. */
export const CONTROL_FILE_ID = 'control';

/** Maps each event type (version 1) to its data shape. */
export interface EventDataByType {
  'file.discovered': FileDiscoveredData;
  'file.unreadable': FileUnreadableData;
  'file.probed': FileProbedData;
  'file.planned': FilePlannedData;
  'encode.started': EncodeStartedData;
  'encode.completed': EncodeCompletedData;
  'encode.failed': EncodeFailedData;
  'verify.passed': VerificationData;
  'verify.failed': VerificationData;
  'file.replaced': FileReplacedData;
  'replace.failed': ReplaceFailedData;
  'message.deadlettered': MessageDeadLetteredData;
  'control.requested': ControlRequestedData;
}

/** A domain event as deciders produce it: a type and its data, before it gets an envelope. */
export type DomainEvent = {
  [T in EventType]: { type: T; data: EventDataByType[T] };
}[EventType];

/** A domain event of one type. */
export type DomainEventOf<T extends EventType> = Extract<DomainEvent, { type: T }>;
