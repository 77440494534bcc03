import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { FILE_ID_PATTERN } from './envelope.js';
import { allEventTypes, type EventType } from './event-types.js';

// The one definition of every event's data: a TypeBox schema per shape, from which events.ts
// derives each TypeScript type (`Static<typeof …>`), so a field cannot exist in the type and
// not in the schema. TypeBox schemas are plain JSON Schema (draft-07, as ajv compiles by
// default); enums, nullable types and `oneOf` are written as the JSON Schema they were before
// TypeBox (see the helpers below), so ajv's messages are unchanged.
// `additionalProperties: false` on data keeps producers honest: a new field is a deliberate
// contract change, reviewed here. Readers apply the same schemas tolerantly (unknown keys
// removed, see validation.ts), so an added optional field is a compatible change and nodes can
// be upgraded one at a time.

type Schema = Record<string, unknown>;

/** An object with exactly these properties (optional ones marked `Type.Optional`). */
function strictObject<P extends Record<string, TSchema>>(properties: P) {
  return Type.Object(properties, { additionalProperties: false });
}

/** `{ enum: values }`, typed as the union of the values. */
function enumOf<const V extends readonly (string | null)[]>(values: V) {
  return Type.Unsafe<V[number]>({ enum: [...values] });
}

/** `{ type: [type, 'null'], ...limits }`: the value, or null. */
function nullable<T>(type: 'string' | 'integer' | 'number', limits: Schema = {}) {
  return Type.Unsafe<T | null>({ type: [type, 'null'], ...limits });
}
const nullableString = (limits: Schema = {}) => nullable<string>('string', limits);
const nullableInteger = (limits: Schema = {}) => nullable<number>('integer', limits);
const nullableNum = (limits: Schema = {}) => nullable<number>('number', limits);

/** `{ oneOf: [null, schema] }`: an object, or null. */
function orNull<T extends TSchema>(schema: T) {
  return Type.Unsafe<Static<T> | null>({ oneOf: [{ type: 'null' }, schema] });
}

const opt = Type.Optional;
const str = Type.String({ minLength: 1 });
const absPath = Type.String({ minLength: 1, pattern: '^/' });
const nonNegInt = Type.Integer({ minimum: 0 });
const nonNegNumber = Type.Number({ minimum: 0 });
const nullableNumber = nullableNum({ minimum: 0 });
const bool = Type.Boolean();

/** Size and mtime of a source file when it was discovered; a swap only happens if they still match. */
export const SourceStampSchema = strictObject({ size: nonNegInt, mtimeMs: nonNegNumber });

const location = {
  /** Absolute path of the library root the file belongs to. */
  library: absPath,
  /** Absolute path of the file. */
  path: absPath,
};
/** Where a file lives: the library root and the absolute path inside it. */
export const FileLocationSchema = Type.Object(location);

/** The data of an event about one file: its location and these properties. */
function data<P extends Record<string, TSchema>>(properties: P) {
  return strictObject({ ...location, ...properties });
}

export const StreamKindSchema = enumOf([
  'audio',
  'subtitle',
  'attachment',
  'cover',
  'data',
  'video',
]);

/** ffmpeg's idet filter over a sample of frames: its multi-frame counts. */
export const IdetSampleSchema = strictObject({
  fromSec: nonNegNumber,
  frames: nonNegInt,
  tff: nonNegInt,
  bff: nonNegInt,
  progressive: nonNegInt,
  undetermined: nonNegInt,
});

const VideoSummarySchema = strictObject({
  codec: str,
  width: nonNegInt,
  height: nonNegInt,
  pixFmt: nullableString(),
  /**
   * ffprobe's `color_transfer` (`smpte2084` is HDR10/PQ, `arib-std-b67` is HLG). Optional:
   * absent in events from before it was probed, null when ffprobe reports none.
   */
  colorTransfer: opt(nullableString()),
  /** The fields below are optional: absent in events from before full probing. */
  /** Codec profile, e.g. `Main 10`, `High`. */
  profile: opt(nullableString()),
  /** Bits per sample: from ffprobe's bits_per_raw_sample, else read off the pixel format. */
  bitDepth: opt(nullableInteger({ minimum: 1 })),
  /** Average frames per second. */
  frameRate: opt(nullableNum({ minimum: 0 })),
  colorPrimaries: opt(nullableString()),
  colorSpace: opt(nullableString()),
  /** HDR format, from the transfer function and side data; null for SDR. */
  hdr: opt(enumOf(['hdr10', 'hdr10+', 'hlg', 'dolby-vision', null])),
  /** ffprobe's stream side data types (mastering display, content light level, DOVI, …). */
  sideData: opt(Type.Array(str)),
  /** The start timecode (`01:00:00:00`) from the video's or a timecode track's tags. */
  timecode: opt(nullableString()),
  /** ffprobe's field_order: `progressive`, `tt`, `bb`, `tb`, `bt`; null when unknown. */
  fieldOrder: opt(nullableString()),
  /** Display matrix rotation in degrees (phone footage: 90, -90, 180); null when none. */
  rotation: opt(nullableNum()),
  /** An `idet` sample, taken when field_order says nothing. */
  idet: opt(orNull(IdetSampleSchema)),
});

/** One stream besides the main video as ffprobe described it. */
export const StreamInfoSchema = strictObject({
  /** ffprobe's absolute stream index (what `-map 0:<index>` selects). */
  index: nonNegInt,
  kind: StreamKindSchema,
  /** ffprobe codec name, e.g. `aac`, `truehd`, `subrip`, `hdmv_pgs_subtitle`. */
  codec: str,
  /** ISO 639-2 `language` tag, lower case; null when untagged or `und`. */
  language: nullableString(),
  /** Audio channel count; null for subtitles or when unknown. */
  channels: nullableInteger({ minimum: 0 }),
  /** Optional: absent in events from before full probing. */
  profile: opt(nullableString()),
  /** e.g. `5.1(side)`, `stereo`. */
  channelLayout: opt(nullableString()),
  /** Disposition flags: the player's default pick, and forced (e.g. foreign-dialogue) subtitles. */
  default: opt(bool),
  forced: opt(bool),
  title: opt(nullableString()),
  /** Attachments (and cover art in mkv): the file name and mime type tags. */
  filename: opt(nullableString()),
  mimetype: opt(nullableString()),
  /** ffprobe's codec tag, e.g. `tmcd` for a QuickTime timecode track. */
  codecTag: opt(nullableString()),
  /** Bits per second: ffprobe's stream bit_rate, or mkv's BPS statistics tag; null when unknown. */
  bitRate: opt(nullableNum({ minimum: 0 })),
});

/** What the planner learned from ffprobe, reduced to what decisions need. */
export const MediaSummarySchema = strictObject({
  container: Type.String(),
  durationSec: nullableNumber,
  bitRate: nullableNumber,
  video: orNull(VideoSummarySchema),
  audioStreams: nonNegInt,
  subtitleStreams: nonNegInt,
  /** Number of chapters; absent in events from before chapters were probed. */
  chapters: opt(nonNegInt),
  /**
   * Per-stream detail of the audio and subtitle streams, in file order. Optional: absent in
   * events from before it was probed; deciders then treat streams as "copy all".
   */
  streams: opt(Type.Array(StreamInfoSchema)),
});

/** What to do with one stream of the source besides the main video. */
export const StreamPlanSchema = strictObject({
  /** ffprobe's absolute stream index in the source. */
  index: Type.Integer({ minimum: 0 }),
  kind: StreamKindSchema,
  /** copy as is; convert to `codec` (audio re-encode, text subtitle format change); drop. */
  action: enumOf(['copy', 'convert', 'drop']),
  /** Output codec for `convert` (e.g. `aac`, `mov_text`, `srt`); null otherwise. */
  codec: nullableString({ minLength: 1 }),
  /** Audio bit rate for `convert`; null otherwise. */
  bitrateKbps: nullableInteger({ minimum: 1 }),
  /** The policy rule that decided it, in words (absent in events from before it was recorded). */
  reason: opt(str),
});

/** Constant-quality level per encoder family, from the policy (lower: better, bigger). */
export const TargetQualitySchema = strictObject({
  /** NVENC `-cq`. */
  nvencCq: Type.Integer({ minimum: 0, maximum: 51 }),
  /** libx265 / libx264 / libsvtav1 `-crf`. */
  cpuCrf: Type.Integer({ minimum: 0, maximum: 63 }),
  /** QSV `-global_quality`. */
  qsvQuality: Type.Integer({ minimum: 1, maximum: 51 }),
  /** VAAPI `-qp`. */
  vaapiQp: Type.Integer({ minimum: 0, maximum: 255 }),
});

/** The output the policy asks for (see {@link EncodeTarget}). */
export const EncodeTargetSchema = strictObject({
  videoCodec: enumOf(['hevc', 'av1', 'h264']),
  container: enumOf(['mkv', 'mp4']),
  quality: opt(TargetQualitySchema),
  maxHeight: opt(nullableInteger({ minimum: 1 })),
  tenBit: opt(bool),
  keepHdr: opt(bool),
  streams: opt(Type.Array(StreamPlanSchema)),
  /**
   * The output's pixel format as ffprobe names it (`yuv420p`, `yuv420p10le`, `yuv444p`, …): the
   * policy's chroma and bit depth applied to the source. The verifier holds the output to it.
   * Absent in events from before it was planned (the verifier then expects the source's).
   */
  pixFmt: opt(str),
  /** The output frame size (even where the chroma needs it, downscaled per the policy). */
  frameSize: opt(
    strictObject({ width: Type.Integer({ minimum: 1 }), height: Type.Integer({ minimum: 1 }) }),
  ),
  /**
   * True when `streams` names every stream of the source besides the main video (cover art,
   * attachments, data streams too), so nothing is mapped implicitly. Absent in older events:
   * attachments then follow the old implicit rule.
   */
  allStreams: opt(bool),
  /** Remux only: the video is copied as it is (decision `remux`). */
  videoCopy: opt(bool),
  /**
   * Keep the source's display matrix (rotation) on the output instead of rotating the pixels:
   * mp4 carries it; for mkv, which cannot, frames are rotated and `frameSize` says so.
   */
  keepRotation: opt(bool),
  /** Chapters: kept (the default) or dropped, by the policy. */
  chapters: opt(enumOf(['keep', 'drop'])),
  /** Deinterlace (bwdif, one frame per frame) with this field parity; the output is progressive. */
  deinterlace: opt(strictObject({ parity: enumOf(['tff', 'bff', 'auto']) })),
});

/** A single verification check with what was measured and the limit it was held to. */
export const VerificationCheckSchema = strictObject({
  name: str,
  passed: bool,
  measured: Type.Unsafe<string | number | null>({ type: ['string', 'number', 'null'] }),
  limit: Type.Unsafe<string | number | null>({ type: ['string', 'number', 'null'] }),
});

/** Limits the verifier holds an output to (see {@link VerificationLimits}). */
export const VerificationLimitsSchema = strictObject({
  /** The output may be at most this fraction of the source's size. */
  maxSizeRatio: opt(Type.Number({ exclusiveMinimum: 0 })),
  /** Lowest mean SSIM over the sampled segments. */
  ssimFloor: opt(Type.Number({ minimum: 0, maximum: 1 })),
});

// `file.planned` v1 was widened after the first release (decisions `remux` and `damaged`,
// `health`, `heldBy`, target fields) without a new version. That is compatible: no reader of
// the narrower v1 can misread a wider plan. An unknown decision is refused by the old schema's
// enum (the plan is dead-lettered with `/data/decision: must be equal to one of the allowed
// values`, and `conform retry` after the upgrade plans it again), never taken for another
// decision; unknown optional keys are removed before the handler, and each of them only refines
// an `encode` (the old reader does what it did before the field existed). contracts/test/
// event-types.test.ts reads remux and damaged plans with the pre-widening schema to hold that.
export const PlanDecisionSchema = enumOf(['encode', 'remux', 'skip', 'compliant', 'damaged']);

/** A decode health check of a source: which stretches were decoded and what ffmpeg reported. */
export const HealthReportSchema = strictObject({
  /** `quick`: first and last 30 s and one sample in the middle; `full`: the whole file. */
  mode: enumOf(['quick', 'full']),
  /** The stretches decoded, in seconds, e.g. `0-30 s, 58-63 s, 90-120 s`. */
  checked: str,
  /** ffmpeg's error lines (at most 10). */
  errors: Type.Array(str, { maxItems: 10 }),
  /** How many error lines ffmpeg printed in all (`errors` keeps the first 10). */
  errorCount: nonNegInt,
  /** Set when a stretch decoded short of what the header promises: the file ends early. */
  endsEarly: opt(str),
});

/**
 * What identifies a file's content across a rename or move: where it lives on disk, its stamp,
 * and a sha256 of its first and last MiB (cheap, yet tells apart files of equal size and mtime).
 */
export const FileFingerprintSchema = strictObject({
  dev: nonNegInt,
  ino: nonNegInt,
  size: nonNegInt,
  mtimeMs: nonNegNumber,
  headTailSha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
});

const discoveredProperties = {
  relativePath: str,
  size: nonNegInt,
  mtimeMs: nonNegNumber,
  /** Optional: absent in events from before identity tracking. */
  fingerprint: opt(FileFingerprintSchema),
};

export const FileDiscoveredDataSchema = data(discoveredProperties);
export const FileMovedDataSchema = data({ ...discoveredProperties, fromPath: absPath });
export const FileRemovedDataSchema = data({ relativePath: str });
export const FileUnreadableDataSchema = data({ source: SourceStampSchema, reason: str });
export const FileProbedDataSchema = data({ source: SourceStampSchema, media: MediaSummarySchema });

export const FilePlannedDataSchema = data({
  source: SourceStampSchema,
  decision: PlanDecisionSchema,
  reasons: Type.Array(str, { minItems: 1 }),
  policyVersion: str,
  /** Present when decision is `encode` (or `remux`). */
  target: orNull(EncodeTargetSchema),
  durationSec: nullableNumber,
  estimatedOutputBytes: nullableNumber,
  /** The policy's verification limits, for the encoder to pass on in `encode.completed`. */
  limits: opt(VerificationLimitsSchema),
  /**
   * Free bytes the library's filesystem needs for this encode, by the shared rule
   * ({@link freeSpaceNeeded}); the encoder waits for them. Optional: absent in plans from
   * before the rule was shared (the encoder then applies it without the policy's reserve).
   */
  diskNeededBytes: opt(nonNegInt),
  /**
   * Set when a policy change re-planned the file: the policy version of the plan this one
   * replaces (`policyVersion` is the version that decided now).
   */
  previousPolicyVersion: opt(str),
  /** The source's health check, when one ran (always with decision `damaged`). */
  health: opt(HealthReportSchema),
  /**
   * Set on a `skip` that only holds an earlier outcome under the same policy: the original was
   * `kept` (no saving) or `restored` by the operator. Read models keep showing that outcome.
   */
  heldBy: opt(enumOf(['kept', 'restored'])),
});

export const EncodeStartedDataSchema = data({
  encoder: str,
  outputPath: absPath,
  attempt: Type.Integer({ minimum: 1 }),
});

export const EncodeCompletedDataSchema = data({
  source: SourceStampSchema,
  target: EncodeTargetSchema,
  encoder: str,
  outputPath: absPath,
  outputSize: nonNegInt,
  elapsedMs: nonNegNumber,
  /**
   * Average frames per second of the whole encode, as ffmpeg last reported it. Optional: absent
   * in events from before it was recorded, and when ffmpeg never reported a rate.
   */
  fps: opt(Type.Number({ exclusiveMinimum: 0 })),
  /** The plan's policy version, passed on so a verdict can say which policy it was held to. */
  policyVersion: opt(str),
  /** The plan's verification limits, passed on unchanged. */
  limits: opt(VerificationLimitsSchema),
  /**
   * The source's duration as the plan recorded it (`file.planned.durationSec`), passed on so
   * the verifier can start reading the output beside its own probe of the source rather than
   * after it. Optional: absent when the plan had none, and in events from before.
   */
  durationSec: opt(Type.Number({ exclusiveMinimum: 0 })),
  /**
   * The pixel format the encoder wrote, when it had to differ from the plan's `target.pixFmt`
   * (a hardware encoder without 4:4:4 falls back to 4:2:0 of the same depth); the verifier
   * holds the output to it. Absent: the plan's.
   */
  pixFmt: opt(str),
  /** Why `pixFmt` differs from the plan's. */
  pixFmtReason: opt(str),
});

export const EncodeFailedDataSchema = data({
  encoder: str,
  reason: str,
  /** True when retrying cannot help (unsupported input); false for transient failures. */
  permanent: bool,
  /**
   * Set when the encoder's size guard stopped the encode: the output was on course for
   * `measuredRatio` of the source, above `limitRatio`. Not a failure: the original is kept.
   */
  sizeGuard: opt(
    strictObject({
      measuredRatio: Type.Number({ minimum: 0 }),
      limitRatio: Type.Number({ exclusiveMinimum: 0 }),
    }),
  ),
  /** The plan's policy version, so a kept outcome names the policy it holds under. */
  policyVersion: opt(str),
});

// `playback` was added after the first release: only the node that wrote a pause reads it back.
export const PauseReasonSchema = enumOf(['manual', 'schedule', 'low-disk', 'playback']);

export const EncodeRequeuedDataSchema = data({
  reason: PauseReasonSchema,
  /** In words, with units: `12.0 MiB free on /media, 40.0 MiB needed (…)`, `pause --now by …`. */
  detail: str,
  /** The delivery the plan was on. */
  attempt: Type.Integer({ minimum: 1 }),
  /** True when an encode had started and was stopped; false when it waited before starting. */
  abandoned: bool,
});

/** The verifier's decode path for one output (see VerificationData.decode). */
export const VerificationDecodeSchema = strictObject({
  device: enumOf(['software', 'cuda', 'qsv', 'vaapi']),
  reason: str,
});
/** One sampled stretch of the output compared with the source, and its mean SSIM. */
export const SsimSegmentSchema = strictObject({
  startSec: nonNegNumber,
  lengthSec: Type.Number({ exclusiveMinimum: 0 }),
  ssim: Type.Number(),
});

export const VerificationDataSchema = data({
  source: SourceStampSchema,
  target: EncodeTargetSchema,
  outputPath: absPath,
  checks: Type.Array(VerificationCheckSchema),
  /**
   * The policy version of the plan, when the encode carried it. A `verify.failed` whose
   * `size-guard` check failed means: do not plan this file again under this policy version.
   */
  policyVersion: opt(str),
  /**
   * How the verifier decoded the output for its full decode pass: on the encode's device
   * (`cuda`, `qsv`, `vaapi`) or in software, and why (a failed trial decode's own words).
   * Absent in verdicts from before it was recorded and when no decode pass ran.
   */
  decode: opt(VerificationDecodeSchema),
  /** The stretches SSIM was measured on, each with its score: what the `ssim` check sampled. */
  ssimSegments: opt(Type.Array(SsimSegmentSchema)),
});

export const FileReplacedDataSchema = data({
  newPath: absPath,
  archivePath: absPath,
  originalSize: nonNegInt,
  newSize: nonNegInt,
  bytesSaved: Type.Integer(),
  /** The policy version the replacement was made under, when known. */
  policyVersion: opt(str),
});

export const ReplaceFailedDataSchema = data({
  reason: str,
  /** True when the source changed after it was planned; the output was discarded. */
  stale: bool,
  /**
   * True when a filesystem error no retry can fix stopped the swap (ENOSPC, EPERM, EROFS, …):
   * the original is untouched; fix the cause, then `conform retry`. Optional: absent in events
   * from before errors were classified.
   */
  permanent: opt(bool),
  /**
   * The archive version the swap had already filled with a copy of the original before it
   * failed; `conform clean` removes it after `workRetentionHours` while it matches the original.
   */
  archivePath: opt(absPath),
});

export const FileKeptDataSchema = data({
  /** Where it was measured: mid-encode (`encode`) or on the finished output (`verify`). */
  stage: enumOf(['encode', 'verify']),
  /** Output size ÷ source size: measured, or mid-encode the size it was on course for. */
  outputRatio: Type.Number({ minimum: 0 }),
  /** The largest ratio the policy accepts (maxOutputRatio and minSavingPercent). */
  limitRatio: Type.Number({ exclusiveMinimum: 0 }),
  /** In words, for the status page and audit. */
  reason: str,
  /** The policy version the outcome holds under, when known. */
  policyVersion: opt(str),
});

export const FileRestoredDataSchema = data({
  replacedPath: absPath,
  replacementArchivePath: absPath,
  restoredSize: nonNegInt,
  /** The policy the replacement was made under; not to be re-encoded until it changes. */
  policyVersion: opt(str),
});

export const RestoreFailedDataSchema = data({ reason: str });

export const OriginalDeletedDataSchema = data({
  archivePath: absPath,
  size: nonNegInt,
  retentionDays: nonNegNumber,
});

export const EncoderPausedDataSchema = strictObject({
  /** The encoder node, e.g. `encoder@nas`. */
  node: str,
  reason: PauseReasonSchema,
  /** In words: who asked, which window, how much disk is free against which minimum. */
  detail: str,
  /** True when running encodes were stopped and returned to the queue (`pause --now`). */
  cancelRunning: bool,
});

export const EncoderResumedDataSchema = strictObject({
  node: str,
  reason: PauseReasonSchema,
  detail: str,
});

export const MessageDeadLetteredDataSchema = strictObject({
  subject: str,
  streamSequence: nonNegInt,
  consumer: str,
  deliveries: nonNegInt,
  reason: str,
  /** The raw payload as text, truncated, so nothing about the bad message is lost from view. */
  payload: Type.String(),
});

export const IntegrationKindSchema = enumOf([
  'jellyfin',
  'emby',
  'plex',
  'sonarr',
  'radarr',
  'webhook',
  'apprise',
]);
export const NotifyActionSchema = enumOf(['refresh', 'rescan', 'notification']);
const targetName = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,31}$' });

export const NotifySentDataSchema = strictObject({
  target: targetName,
  kind: IntegrationKindSchema,
  action: NotifyActionSchema,
  /** What the request was about, e.g. `POST /Library/Media/Updated` or `RescanSeries 12`. */
  request: str,
  paths: Type.Array(str),
  /** How many files the one request covered. */
  batched: Type.Integer({ minimum: 1 }),
  /** HTTP status the target answered with. */
  status: Type.Integer({ minimum: 100, maximum: 599 }),
});

export const NotifyFailedDataSchema = strictObject({
  target: targetName,
  kind: IntegrationKindSchema,
  action: NotifyActionSchema,
  reason: str,
  status: nullableInteger({ minimum: 100, maximum: 599 }),
  attempt: Type.Integer({ minimum: 1 }),
  final: bool,
});

/** One media server's view of who is watching, as polled. */
export const PlaybackServerSchema = strictObject({
  name: targetName,
  kind: enumOf(['jellyfin', 'emby', 'plex']),
  sessions: nonNegInt,
});

export const PlaybackStartedDataSchema = strictObject({
  sessions: Type.Integer({ minimum: 1 }),
  servers: Type.Array(PlaybackServerSchema),
  detail: str,
});

export const PlaybackEndedDataSchema = strictObject({
  detail: str,
  graceMinutes: nonNegNumber,
});

export const ControlActionSchema = enumOf(['pause', 'resume', 'retry', 'restore']);

export const ControlRequestedDataSchema = strictObject({
  action: ControlActionSchema,
  path: orNull(absPath),
  /** For pause: also stop running encodes and return them to the queue. */
  now: bool,
  /** Who asked, e.g. `cli@nas` or `api@127.0.0.1`. */
  requestedBy: str,
});

/**
 * The data schema of each event type at version 1. events.ts derives `EventDataByType` from
 * it, so a type without a schema does not compile.
 */
export const dataSchemaByType = {
  'file.discovered': FileDiscoveredDataSchema,
  'file.changed': FileDiscoveredDataSchema,
  'file.moved': FileMovedDataSchema,
  'file.removed': FileRemovedDataSchema,
  'file.unreadable': FileUnreadableDataSchema,
  'file.probed': FileProbedDataSchema,
  'file.planned': FilePlannedDataSchema,
  'encode.started': EncodeStartedDataSchema,
  'encode.completed': EncodeCompletedDataSchema,
  'encode.failed': EncodeFailedDataSchema,
  'encode.requeued': EncodeRequeuedDataSchema,
  'verify.passed': VerificationDataSchema,
  'verify.failed': VerificationDataSchema,
  'file.replaced': FileReplacedDataSchema,
  'replace.failed': ReplaceFailedDataSchema,
  'file.kept': FileKeptDataSchema,
  'file.restored': FileRestoredDataSchema,
  'restore.failed': RestoreFailedDataSchema,
  'original.deleted': OriginalDeletedDataSchema,
  'encoder.paused': EncoderPausedDataSchema,
  'encoder.resumed': EncoderResumedDataSchema,
  'message.deadlettered': MessageDeadLetteredDataSchema,
  'notify.sent': NotifySentDataSchema,
  'notify.failed': NotifyFailedDataSchema,
  'playback.started': PlaybackStartedDataSchema,
  'playback.ended': PlaybackEndedDataSchema,
  'control.requested': ControlRequestedDataSchema,
} as const satisfies Record<EventType, TSchema>;

/** JSON Schema of each event type's `data`, version 1. */
export const dataSchemas: Record<EventType, Schema> = dataSchemaByType;

/** JSON Schema of a whole event (envelope and data) of one type at version 1. */
export function eventSchema(type: EventType): Schema {
  return envelopeSchema(type, 1, dataSchemas[type]);
}

/**
 * The envelope around one version's data schema. A new version of a type is
 * `envelopeSchema(type, 2, newData)` added to {@link eventSchemas} next to v1 (which stays, so
 * old events are still read, then upcast), plus its upcaster in upcasting.ts.
 */
export function envelopeSchema(type: EventType, version: number, data: Schema): Schema {
  return {
    $id: `https://conform.dev/schemas/${type}.v${version}.json`,
    title: `${type} v${version}`,
    type: 'object',
    required: [
      'id',
      'type',
      'version',
      'time',
      'fileId',
      'correlationId',
      'causationId',
      'producer',
      'data',
    ],
    additionalProperties: false,
    properties: {
      id: str,
      type: { const: type },
      version: { const: version },
      time: {
        type: 'string',
        pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$',
      },
      fileId: { type: 'string', pattern: FILE_ID_PATTERN },
      correlationId: str,
      causationId: { type: ['string', 'null'], minLength: 1 },
      producer: str,
      data,
    },
  };
}

/** Every event schema, keyed `<type>@v<version>`. */
export const eventSchemas: Record<string, Schema> = Object.fromEntries(
  allEventTypes.map((t) => [`${t}@v1`, eventSchema(t)]),
);
