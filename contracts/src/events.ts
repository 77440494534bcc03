import type { Static } from '@sinclair/typebox';
import type { EventType } from './event-types.js';
import type {
  ControlActionSchema,
  ControlRequestedDataSchema,
  dataSchemaByType,
  EncodeCompletedDataSchema,
  EncodeFailedDataSchema,
  EncoderPausedDataSchema,
  EncodeRequeuedDataSchema,
  EncoderResumedDataSchema,
  EncodeStartedDataSchema,
  EncodeTargetSchema,
  FileDiscoveredDataSchema,
  FileFingerprintSchema,
  FileKeptDataSchema,
  FileLocationSchema,
  FileMovedDataSchema,
  FilePlannedDataSchema,
  FileProbedDataSchema,
  FileRemovedDataSchema,
  FileReplacedDataSchema,
  FileRestoredDataSchema,
  FileUnreadableDataSchema,
  HealthReportSchema,
  IdetSampleSchema,
  IntegrationKindSchema,
  MediaSummarySchema,
  MessageDeadLetteredDataSchema,
  NotifyActionSchema,
  NotifyFailedDataSchema,
  NotifySentDataSchema,
  OriginalDeletedDataSchema,
  PauseReasonSchema,
  PlanDecisionSchema,
  PlaybackEndedDataSchema,
  PlaybackServerSchema,
  PlaybackStartedDataSchema,
  ReplaceFailedDataSchema,
  RestoreFailedDataSchema,
  SourceStampSchema,
  StreamInfoSchema,
  StreamKindSchema,
  StreamPlanSchema,
  TargetQualitySchema,
  VerificationCheckSchema,
  VerificationDataSchema,
  VerificationDecodeSchema,
  SsimSegmentSchema,
  VerificationLimitsSchema,
} from './schemas.js';

// The TypeScript side of the event contracts: every shape is derived from its schema in
// schemas.ts (the one definition; field comments are there), so a field cannot exist in the
// type and not in the schema. To change a shape, change its schema.

/** Size and mtime of a source file when it was discovered; a swap only happens if they still match. */
export type SourceStamp = Static<typeof SourceStampSchema>;

/** Where a file lives: the library root and the absolute path inside it. */
export type FileLocation = Static<typeof FileLocationSchema>;

/** What the planner learned from ffprobe, reduced to what decisions need. */
export type MediaSummary = Static<typeof MediaSummarySchema>;

/**
 * What a stream other than the main video is: `cover` is an attached picture (cover art),
 * `attachment` a file such as a font, `data` e.g. a QuickTime timecode track, `video` a second
 * video stream (not cover art). Only `audio` and `subtitle` appear in events from before every
 * stream was probed.
 */
export type StreamKind = Static<typeof StreamKindSchema>;

/** ffmpeg's idet filter over a sample of frames: its multi-frame counts. */
export type IdetSample = Static<typeof IdetSampleSchema>;

/** One stream besides the main video as ffprobe described it. */
export type StreamInfo = Static<typeof StreamInfoSchema>;

/** What to do with one stream of the source besides the main video. */
export type StreamPlan = Static<typeof StreamPlanSchema>;

/** Constant-quality level per encoder family, from the policy (lower: better, bigger). */
export type TargetQuality = Static<typeof TargetQualitySchema>;

/**
 * The output the policy asks for. `videoCodec` and `container` are all an encoder must honour;
 * the optional fields (absent in events from before the quality policy) refine it:
 * `quality` per encoder family, `maxHeight` (downscale to at most this height keeping the aspect
 * ratio; never upscale), `tenBit` output, `keepHdr` (carry HDR10 colour metadata: bt2020 /
 * smpte2084), and `streams` (per audio/subtitle stream: copy, convert or drop; absent means copy
 * every stream).
 */
export type EncodeTarget = Static<typeof EncodeTargetSchema>;

/** A single verification check with what was measured and the limit it was held to. */
export type VerificationCheck = Static<typeof VerificationCheckSchema>;

/**
 * Limits the verifier holds an output to, set by the policy; absent fields take the verifier's
 * documented defaults (maxSizeRatio 1.0, ssimFloor 0.95).
 */
export type VerificationLimits = Static<typeof VerificationLimitsSchema>;

/**
 * What the planner decided. `remux`: the video complies but streams or container change, so it
 * is copied, not re-encoded (same verify and swap path). `damaged`: the source failed its health
 * check and is left alone. Both widened v1 compatibly (see schemas.ts): events from before them
 * never carry them, and an older reader refuses them rather than misreading them.
 */
export type PlanDecision = Static<typeof PlanDecisionSchema>;

/** A decode health check of a source: which stretches were decoded and what ffmpeg reported. */
export type HealthReport = Static<typeof HealthReportSchema>;

/**
 * What identifies a file's content across a rename or move: where it lives on disk, its stamp,
 * and a sha256 of its first and last MiB (cheap, yet tells apart files of equal size and mtime).
 */
export type FileFingerprint = Static<typeof FileFingerprintSchema>;

export type FileDiscoveredData = Static<typeof FileDiscoveredDataSchema>;
/** A known file's content changed in place (same path, same file id): it is planned again. */
export type FileChangedData = FileDiscoveredData;
/** A known file was renamed or moved inside its library; it keeps its file id and history. */
export type FileMovedData = Static<typeof FileMovedDataSchema>;
/** A known file is gone from its library. */
export type FileRemovedData = Static<typeof FileRemovedDataSchema>;
export type FileUnreadableData = Static<typeof FileUnreadableDataSchema>;
export type FileProbedData = Static<typeof FileProbedDataSchema>;
export type FilePlannedData = Static<typeof FilePlannedDataSchema>;
export type EncodeStartedData = Static<typeof EncodeStartedDataSchema>;
export type EncodeCompletedData = Static<typeof EncodeCompletedDataSchema>;
export type EncodeFailedData = Static<typeof EncodeFailedDataSchema>;
export type VerificationData = Static<typeof VerificationDataSchema>;
/** The verifier's decode path for one output (see {@link VerificationData.decode}). */
export type VerificationDecode = Static<typeof VerificationDecodeSchema>;
/** One sampled stretch of the output compared with the source, and its mean SSIM. */
export type SsimSegment = Static<typeof SsimSegmentSchema>;
export type FileReplacedData = Static<typeof FileReplacedDataSchema>;
/**
 * The original stays: a re-encode would not save enough (the encoder's size guard stopped it,
 * or the verified output is above the size limit). Not a failure and not retried; the planner
 * leaves the file alone until the file or the policy changes.
 */
export type FileKeptData = Static<typeof FileKeptDataSchema>;
export type ReplaceFailedData = Static<typeof ReplaceFailedDataSchema>;
/**
 * An operator's restore finished: the archived original is back at `path` and the replacement
 * that stood at `replacedPath` now lies in the archive at `replacementArchivePath`.
 */
export type FileRestoredData = Static<typeof FileRestoredDataSchema>;
export type RestoreFailedData = Static<typeof RestoreFailedDataSchema>;
/** An archived original was deleted after the library's retention period (explicit opt-in). */
export type OriginalDeletedData = Static<typeof OriginalDeletedDataSchema>;
export type MessageDeadLetteredData = Static<typeof MessageDeadLetteredDataSchema>;

/** What an operator can ask for. */
export type ControlAction = Static<typeof ControlActionSchema>;

/**
 * An operator's request. `pause`/`resume` address every encoder (fileId {@link CONTROL_FILE_ID},
 * path null); `retry`/`restore` address one file (its fileId and path).
 */
export type ControlRequestedData = Static<typeof ControlRequestedDataSchema>;

/** The fileId of control requests that are not about one file. */
export const CONTROL_FILE_ID = 'control';

/**
 * Why an encoder node stopped (or resumed) pulling work. `playback`: a media server reports
 * someone watching (see `playback.started`). Only the node that wrote a pause acts on it, so a
 * reason added here is only ever read by nodes that know it.
 */
export type PauseReason = Static<typeof PauseReasonSchema>;

/**
 * One encoder node stopped pulling new work for `reason` (fileId {@link CONTROL_FILE_ID}).
 * Each reason pauses and resumes independently; the node works only when none holds.
 */
export type EncoderPausedData = Static<typeof EncoderPausedDataSchema>;

/**
 * A pulled plan waits instead of encoding (or a running encode was stopped and its partial
 * removed) because of a pause: the file is back in the queue, and this says why. The encoder
 * still owns it: it encodes the file once the reason is gone (free space is polled, a quiet
 * window ends, an operator resumes).
 */
export type EncodeRequeuedData = Static<typeof EncodeRequeuedDataSchema>;

/** One pause reason no longer holds on an encoder node. */
export type EncoderResumedData = Static<typeof EncoderResumedDataSchema>;

/** What kind of integration a notify target is. */
export type IntegrationKind = Static<typeof IntegrationKindSchema>;

/** What notify did for a target: refresh a media server, ask an *arr app to rescan, notify people. */
export type NotifyAction = Static<typeof NotifyActionSchema>;

/**
 * notify told one configured target about a file's change (or sent a summary). `paths` are as
 * the target sees them (after path mapping); `batched` is how many files the one request covered.
 * Never carries a secret: targets are named, not addressed with their keys.
 */
export type NotifySentData = Static<typeof NotifySentDataSchema>;

/**
 * A target could not be told: the reason (HTTP status and what it means, a timeout, the server
 * down). `final` is true when notify gives up on it (a permanent answer such as 401, or the last
 * attempt); the pipeline never waits for it either way.
 */
export type NotifyFailedData = Static<typeof NotifyFailedDataSchema>;

/** One media server's view of who is watching, as polled. */
export type PlaybackServer = Static<typeof PlaybackServerSchema>;

/**
 * A media server reports active playback (fileId {@link CONTROL_FILE_ID}): encoders pause with
 * reason `playback` until `playback.ended`.
 */
export type PlaybackStartedData = Static<typeof PlaybackStartedDataSchema>;

/** No playback for the configured grace period: encoders may resume. */
export type PlaybackEndedData = Static<typeof PlaybackEndedDataSchema>;

/** Maps each event type (version 1) to its data shape: derived from its schema. */
export type EventDataByType = {
  [T in EventType]: Static<(typeof dataSchemaByType)[T]>;
};

/** A domain event as deciders produce it: a type and its data, before it gets an envelope. */
export type DomainEvent = {
  [T in EventType]: { type: T; data: EventDataByType[T] };
}[EventType];

/** A domain event of one type. */
export type DomainEventOf<T extends EventType> = Extract<DomainEvent, { type: T }>;
