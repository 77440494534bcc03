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
  video: {
    codec: string;
    width: number;
    height: number;
    pixFmt: string | null;
    /**
     * ffprobe's `color_transfer` (`smpte2084` is HDR10/PQ, `arib-std-b67` is HLG). Optional:
     * absent in events from before it was probed, null when ffprobe reports none.
     */
    colorTransfer?: string | null;
    /** The fields below are optional: absent in events from before full probing. */
    /** Codec profile, e.g. `Main 10`, `High`. */
    profile?: string | null;
    /** Bits per sample: from ffprobe's bits_per_raw_sample, else read off the pixel format. */
    bitDepth?: number | null;
    /** Average frames per second. */
    frameRate?: number | null;
    colorPrimaries?: string | null;
    colorSpace?: string | null;
    /** HDR format, from the transfer function and side data; null for SDR. */
    hdr?: 'hdr10' | 'hdr10+' | 'hlg' | 'dolby-vision' | null;
    /** ffprobe's stream side data types (mastering display, content light level, DOVI, …). */
    sideData?: string[];
    /** The start timecode (`01:00:00:00`) from the video's or a timecode track's tags. */
    timecode?: string | null;
    /** Display matrix rotation in degrees (phone footage: 90, -90, 180); null when none. */
    rotation?: number | null;
    /** ffprobe's field_order: `progressive`, `tt`, `bb`, `tb`, `bt`; null when unknown. */
    fieldOrder?: string | null;
    /** An `idet` sample, taken when field_order says nothing. */
    idet?: IdetSample | null;
  } | null;
  audioStreams: number;
  subtitleStreams: number;
  /** Number of chapters; absent in events from before chapters were probed. */
  chapters?: number;
  /**
   * Per-stream detail of the audio and subtitle streams, in file order. Optional: absent in
   * events from before it was probed; deciders then treat streams as "copy all".
   */
  streams?: StreamInfo[];
}

/**
 * What a stream other than the main video is: `cover` is an attached picture (cover art),
 * `attachment` a file such as a font, `data` e.g. a QuickTime timecode track, `video` a second
 * video stream (not cover art). Only `audio` and `subtitle` appear in events from before every
 * stream was probed.
 */
export type StreamKind = 'audio' | 'subtitle' | 'attachment' | 'cover' | 'data' | 'video';

/** ffmpeg's idet filter over a sample of frames: its multi-frame counts. */
export interface IdetSample {
  fromSec: number;
  frames: number;
  tff: number;
  bff: number;
  progressive: number;
  undetermined: number;
}

/** One stream besides the main video as ffprobe described it. */
export interface StreamInfo {
  /** ffprobe's absolute stream index (what `-map 0:<index>` selects). */
  index: number;
  kind: StreamKind;
  /** ffprobe codec name, e.g. `aac`, `truehd`, `subrip`, `hdmv_pgs_subtitle`. */
  codec: string;
  /** ISO 639-2 `language` tag, lower case; null when untagged or `und`. */
  language: string | null;
  /** Audio channel count; null for subtitles or when unknown. */
  channels: number | null;
  /** Optional: absent in events from before full probing. */
  profile?: string | null;
  /** e.g. `5.1(side)`, `stereo`. */
  channelLayout?: string | null;
  /** Disposition flags: the player's default pick, and forced (e.g. foreign-dialogue) subtitles. */
  default?: boolean;
  forced?: boolean;
  title?: string | null;
  /** Attachments (and cover art in mkv): the file name and mime type tags. */
  filename?: string | null;
  mimetype?: string | null;
  /** ffprobe's codec tag, e.g. `tmcd` for a QuickTime timecode track. */
  codecTag?: string | null;
  /** Bits per second: ffprobe's stream bit_rate, or mkv's BPS statistics tag; null when unknown. */
  bitRate?: number | null;
}

/** What to do with one stream of the source besides the main video. */
export interface StreamPlan {
  /** ffprobe's absolute stream index in the source. */
  index: number;
  kind: StreamKind;
  /** copy as is; convert to `codec` (audio re-encode, text subtitle format change); drop. */
  action: 'copy' | 'convert' | 'drop';
  /** Output codec for `convert` (e.g. `aac`, `mov_text`, `srt`); null otherwise. */
  codec: string | null;
  /** Audio bit rate for `convert`; null otherwise. */
  bitrateKbps: number | null;
  /** The policy rule that decided it, in words (absent in events from before it was recorded). */
  reason?: string;
}

/** Constant-quality level per encoder family, from the policy (lower: better, bigger). */
export interface TargetQuality {
  /** NVENC `-cq`. */
  nvencCq: number;
  /** libx265 / libx264 / libsvtav1 `-crf`. */
  cpuCrf: number;
  /** QSV `-global_quality`. */
  qsvQuality: number;
  /** VAAPI `-qp`. */
  vaapiQp: number;
}

/**
 * The output the policy asks for. `videoCodec` and `container` are all an encoder must honour;
 * the optional fields (absent in events from before the quality policy) refine it:
 * `quality` per encoder family, `maxHeight` (downscale to at most this height keeping the aspect
 * ratio; never upscale), `tenBit` output, `keepHdr` (carry HDR10 colour metadata: bt2020 /
 * smpte2084), and `streams` (per audio/subtitle stream: copy, convert or drop; absent means copy
 * every stream).
 */
export interface EncodeTarget {
  videoCodec: 'hevc' | 'av1' | 'h264';
  container: 'mkv' | 'mp4';
  quality?: TargetQuality;
  maxHeight?: number | null;
  tenBit?: boolean;
  keepHdr?: boolean;
  streams?: StreamPlan[];
  /**
   * The output's pixel format as ffprobe names it (`yuv420p`, `yuv420p10le`, `yuv444p`, …): the
   * policy's chroma and bit depth applied to the source. The verifier holds the output to it.
   * Absent in events from before it was planned (the verifier then expects the source's).
   */
  pixFmt?: string;
  /** The output frame size (even where the chroma needs it, downscaled per the policy). */
  frameSize?: { width: number; height: number };
  /**
   * True when `streams` names every stream of the source besides the main video (cover art,
   * attachments, data streams too), so nothing is mapped implicitly. Absent in older events:
   * attachments then follow the old implicit rule.
   */
  allStreams?: boolean;
  /** Chapters: kept (the default) or dropped, by the policy. */
  chapters?: 'keep' | 'drop';
  /**
   * Keep the source's display matrix (rotation) on the output instead of rotating the pixels:
   * mp4 carries it; for mkv, which cannot, frames are rotated and `frameSize` says so.
   */
  keepRotation?: boolean;
  /** Remux only: the video is copied as it is (decision `remux`). */
  videoCopy?: boolean;
  /** Deinterlace (bwdif, one frame per frame) with this field parity; the output is progressive. */
  deinterlace?: { parity: 'tff' | 'bff' | 'auto' };
}

/** A single verification check with what was measured and the limit it was held to. */
export interface VerificationCheck {
  name: string;
  passed: boolean;
  measured: string | number | null;
  limit: string | number | null;
}

/**
 * Limits the verifier holds an output to, set by the policy; absent fields take the verifier's
 * documented defaults (maxSizeRatio 1.0, ssimFloor 0.95).
 */
export interface VerificationLimits {
  /** The output may be at most this fraction of the source's size. */
  maxSizeRatio?: number;
  /** Lowest mean SSIM over the sampled segments. */
  ssimFloor?: number;
}

/**
 * What the planner decided. `remux`: the video complies but streams or container change, so it
 * is copied, not re-encoded (same verify and swap path). `damaged`: the source failed its health
 * check and is left alone. Both widened compatibly: events from before them never carry them.
 */
export type PlanDecision = 'encode' | 'remux' | 'skip' | 'compliant' | 'damaged';

/** A decode health check of a source: which stretches were decoded and what ffmpeg reported. */
export interface HealthReport {
  /** `quick`: first and last 30 s and one sample in the middle; `full`: the whole file. */
  mode: 'quick' | 'full';
  /** The stretches decoded, in seconds, e.g. `0-30 s, 58-63 s, 90-120 s`. */
  checked: string;
  /** ffmpeg's error lines (at most 10). */
  errors: string[];
  /** How many error lines ffmpeg printed in all (`errors` keeps the first 10). */
  errorCount: number;
  /** Set when a stretch decoded short of what the header promises: the file ends early. */
  endsEarly?: string;
}

/**
 * What identifies a file's content across a rename or move: where it lives on disk, its stamp,
 * and a sha256 of its first and last MiB (cheap, yet tells apart files of equal size and mtime).
 */
export interface FileFingerprint {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  headTailSha256: string;
}

export interface FileDiscoveredData extends FileLocation, SourceStamp {
  relativePath: string;
  /** Optional: absent in events from before identity tracking. */
  fingerprint?: FileFingerprint;
}
/** A known file's content changed in place (same path, same file id): it is planned again. */
export type FileChangedData = FileDiscoveredData;
/** A known file was renamed or moved inside its library; it keeps its file id and history. */
export interface FileMovedData extends FileDiscoveredData {
  fromPath: string;
}
/** A known file is gone from its library. */
export interface FileRemovedData extends FileLocation {
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
  /** The policy's verification limits, for the encoder to pass on in `encode.completed`. */
  limits?: VerificationLimits;
  /**
   * Free bytes the library's filesystem needs for this encode, by the shared rule
   * ({@link freeSpaceNeeded}); the encoder waits for them. Optional: absent in plans from
   * before the rule was shared (the encoder then applies it without the policy's reserve).
   */
  diskNeededBytes?: number;
  /**
   * Set when a policy change re-planned the file: the policy version of the plan this one
   * replaces (`policyVersion` is the version that decided now).
   */
  previousPolicyVersion?: string; /** The source's health check, when one ran (always with decision `damaged`). */
  health?: HealthReport;
  /**
   * Set on a `skip` that only holds an earlier outcome under the same policy: the original was
   * `kept` (no saving) or `restored` by the operator. Read models keep showing that outcome.
   */
  heldBy?: 'kept' | 'restored';
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
  /**
   * Average frames per second of the whole encode, as ffmpeg last reported it. Optional: absent
   * in events from before it was recorded, and when ffmpeg never reported a rate.
   */
  fps?: number;
  /** The plan's policy version, passed on so a verdict can say which policy it was held to. */
  policyVersion?: string;
  /** The plan's verification limits, passed on unchanged. */
  limits?: VerificationLimits;
  /**
   * The pixel format the encoder wrote, when it had to differ from the plan's `target.pixFmt`
   * (a hardware encoder without 4:4:4 falls back to 4:2:0 of the same depth); the verifier
   * holds the output to it. Absent: the plan's.
   */
  pixFmt?: string;
  /** Why `pixFmt` differs from the plan's. */
  pixFmtReason?: string;
}
export interface EncodeFailedData extends FileLocation {
  encoder: string;
  reason: string;
  /** True when retrying cannot help (unsupported input); false for transient failures. */
  permanent: boolean;
  /**
   * Set when the encoder's size guard stopped the encode: the output was on course for
   * `measuredRatio` of the source, above `limitRatio`. Not a failure: the original is kept.
   */
  sizeGuard?: { measuredRatio: number; limitRatio: number };
  /** The plan's policy version, so a kept outcome names the policy it holds under. */
  policyVersion?: string;
}
export interface VerificationData extends FileLocation {
  source: SourceStamp;
  target: EncodeTarget;
  outputPath: string;
  checks: VerificationCheck[];
  /**
   * The policy version of the plan, when the encode carried it. A `verify.failed` whose
   * `size-guard` check failed means: do not plan this file again under this policy version.
   */
  policyVersion?: string;
  /**
   * How the verifier decoded the output for its full decode pass: on the encode's device
   * (`cuda`, `qsv`, `vaapi`) or in software, and why (a failed trial decode's own words).
   * Absent in verdicts from before it was recorded and when no decode pass ran.
   */
  decode?: VerificationDecode;
  /** The stretches SSIM was measured on, each with its score: what the `ssim` check sampled. */
  ssimSegments?: SsimSegment[];
}
/** The verifier's decode path for one output (see {@link VerificationData.decode}). */
export interface VerificationDecode {
  device: 'software' | 'cuda' | 'qsv' | 'vaapi';
  reason: string;
}
/** One sampled stretch of the output compared with the source, and its mean SSIM. */
export interface SsimSegment {
  startSec: number;
  lengthSec: number;
  ssim: number;
}
export interface FileReplacedData extends FileLocation {
  newPath: string;
  archivePath: string;
  originalSize: number;
  newSize: number;
  bytesSaved: number;
  /** The policy version the replacement was made under, when known. */
  policyVersion?: string;
}
/**
 * The original stays: a re-encode would not save enough (the encoder's size guard stopped it,
 * or the verified output is above the size limit). Not a failure and not retried; the planner
 * leaves the file alone until the file or the policy changes.
 */
export interface FileKeptData extends FileLocation {
  /** Where it was measured: mid-encode (`encode`) or on the finished output (`verify`). */
  stage: 'encode' | 'verify';
  /** Output size ÷ source size: measured, or mid-encode the size it was on course for. */
  outputRatio: number;
  /** The largest ratio the policy accepts (maxOutputRatio and minSavingPercent). */
  limitRatio: number;
  /** In words, for the status page and audit. */
  reason: string;
  /** The policy version the outcome holds under, when known. */
  policyVersion?: string;
}
export interface ReplaceFailedData extends FileLocation {
  reason: string;
  /** True when the source changed after it was planned; the output was discarded. */
  stale: boolean;
  /**
   * True when a filesystem error no retry can fix stopped the swap (ENOSPC, EPERM, EROFS, …):
   * the original is untouched; fix the cause, then `conform retry`. Optional: absent in events
   * from before errors were classified.
   */
  permanent?: boolean;
  /**
   * The archive version the swap had already filled with a copy of the original before it
   * failed; `conform clean` removes it after `workRetentionHours` while it matches the original.
   */
  archivePath?: string;
}
/**
 * An operator's restore finished: the archived original is back at `path` and the replacement
 * that stood at `replacedPath` now lies in the archive at `replacementArchivePath`.
 */
export interface FileRestoredData extends FileLocation {
  replacedPath: string;
  replacementArchivePath: string;
  restoredSize: number;
  /** The policy the replacement was made under; not to be re-encoded until it changes. */
  policyVersion?: string;
}
export interface RestoreFailedData extends FileLocation {
  reason: string;
}
/** An archived original was deleted after the library's retention period (explicit opt-in). */
export interface OriginalDeletedData extends FileLocation {
  archivePath: string;
  size: number;
  retentionDays: number;
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

/**
 * Why an encoder node stopped (or resumed) pulling work. `playback`: a media server reports
 * someone watching (see `playback.started`). Only the node that wrote a pause acts on it, so a
 * reason added here is only ever read by nodes that know it.
 */
export type PauseReason = 'manual' | 'schedule' | 'low-disk' | 'playback';

/**
 * One encoder node stopped pulling new work for `reason` (fileId {@link CONTROL_FILE_ID}).
 * Each reason pauses and resumes independently; the node works only when none holds.
 */
export interface EncoderPausedData {
  /** The encoder node, e.g. `encoder@nas`. */
  node: string;
  reason: PauseReason;
  /** In words: who asked, which window, how much disk is free against which minimum. */
  detail: string;
  /** True when running encodes were stopped and returned to the queue (`pause --now`). */
  cancelRunning: boolean;
}

/**
 * A pulled plan waits instead of encoding (or a running encode was stopped and its partial
 * removed) because of a pause: the file is back in the queue, and this says why. The encoder
 * still owns it: it encodes the file once the reason is gone (free space is polled, a quiet
 * window ends, an operator resumes).
 */
export interface EncodeRequeuedData extends FileLocation {
  reason: PauseReason;
  /** In words, with units: `12.0 MiB free on /media, 40.0 MiB needed (…)`, `pause --now by …`. */
  detail: string;
  /** The delivery the plan was on. */
  attempt: number;
  /** True when an encode had started and was stopped; false when it waited before starting. */
  abandoned: boolean;
}

/** One pause reason no longer holds on an encoder node. */
export interface EncoderResumedData {
  node: string;
  reason: PauseReason;
  detail: string;
}

/** What kind of integration a notify target is. */
export type IntegrationKind =
  'jellyfin' | 'emby' | 'plex' | 'sonarr' | 'radarr' | 'webhook' | 'apprise';

/** What notify did for a target: refresh a media server, ask an *arr app to rescan, notify people. */
export type NotifyAction = 'refresh' | 'rescan' | 'notification';

/**
 * notify told one configured target about a file's change (or sent a summary). `paths` are as
 * the target sees them (after path mapping); `batched` is how many files the one request covered.
 * Never carries a secret: targets are named, not addressed with their keys.
 */
export interface NotifySentData {
  target: string;
  kind: IntegrationKind;
  action: NotifyAction;
  /** What the request was about, e.g. `POST /Library/Media/Updated` or `RescanSeries 12`. */
  request: string;
  paths: string[];
  batched: number;
  /** HTTP status the target answered with. */
  status: number;
}

/**
 * A target could not be told: the reason (HTTP status and what it means, a timeout, the server
 * down). `final` is true when notify gives up on it (a permanent answer such as 401, or the last
 * attempt); the pipeline never waits for it either way.
 */
export interface NotifyFailedData {
  target: string;
  kind: IntegrationKind;
  action: NotifyAction;
  reason: string;
  status: number | null;
  attempt: number;
  final: boolean;
}

/** One media server's view of who is watching, as polled. */
export interface PlaybackServer {
  name: string;
  kind: 'jellyfin' | 'emby' | 'plex';
  sessions: number;
}

/**
 * A media server reports active playback (fileId {@link CONTROL_FILE_ID}): encoders pause with
 * reason `playback` until `playback.ended`.
 */
export interface PlaybackStartedData {
  sessions: number;
  servers: PlaybackServer[];
  detail: string;
}

/** No playback for the configured grace period: encoders may resume. */
export interface PlaybackEndedData {
  detail: string;
  graceMinutes: number;
}

/** Maps each event type (version 1) to its data shape. */
export interface EventDataByType {
  'file.discovered': FileDiscoveredData;
  'file.changed': FileChangedData;
  'file.moved': FileMovedData;
  'file.removed': FileRemovedData;
  'file.unreadable': FileUnreadableData;
  'file.probed': FileProbedData;
  'file.planned': FilePlannedData;
  'encode.started': EncodeStartedData;
  'encode.completed': EncodeCompletedData;
  'encode.failed': EncodeFailedData;
  'encode.requeued': EncodeRequeuedData;
  'verify.passed': VerificationData;
  'verify.failed': VerificationData;
  'file.replaced': FileReplacedData;
  'replace.failed': ReplaceFailedData;
  'file.kept': FileKeptData;
  'file.restored': FileRestoredData;
  'restore.failed': RestoreFailedData;
  'original.deleted': OriginalDeletedData;
  'encoder.paused': EncoderPausedData;
  'encoder.resumed': EncoderResumedData;
  'message.deadlettered': MessageDeadLetteredData;
  'notify.sent': NotifySentData;
  'notify.failed': NotifyFailedData;
  'playback.started': PlaybackStartedData;
  'playback.ended': PlaybackEndedData;
  'control.requested': ControlRequestedData;
}

/** A domain event as deciders produce it: a type and its data, before it gets an envelope. */
export type DomainEvent = {
  [T in EventType]: { type: T; data: EventDataByType[T] };
}[EventType];

/** A domain event of one type. */
export type DomainEventOf<T extends EventType> = Extract<DomainEvent, { type: T }>;
