import type {
  EncodeTarget,
  EventEnvelope,
  MediaSummary,
  PlanDecision,
  VerificationCheck,
} from '@conform/contracts';

// What the file view shows besides the read-model row, derived from the file's history in the
// event log (the same events `conform audit` prints). Pure: the history comes in.

/** The file view's summary of one file's history. */
export interface FileDetail {
  /** The source as last probed before it was replaced (or now, if never replaced). */
  before: { media: MediaSummary; sizeBytes: number; time: string } | null;
  /** The replacement: what the encode produced and what the swap recorded. */
  after: {
    target: EncodeTarget;
    encoder: string;
    sizeBytes: number;
    elapsedMs: number;
    fps: number | null;
    time: string;
    replacedAt: string | null;
    archivePath: string | null;
    bytesSaved: number | null;
    /** The replacement as probed after the swap, when the watcher has seen it since. */
    media: MediaSummary | null;
  } | null;
  /** The plan the latest encode was made from (the current plan may be a later compliant one). */
  encodePlan: FileDetail['plan'];
  /** True while a replacement stands that a restore could undo. */
  restorable: boolean;
  plan: {
    decision: PlanDecision;
    reasons: string[];
    policyVersion: string;
    previousPolicyVersion: string | null;
    target: EncodeTarget | null;
    estimatedOutputBytes: number | null;
    time: string;
  } | null;
  verification: {
    passed: boolean;
    checks: VerificationCheck[];
    policyVersion: string | null;
    time: string;
  } | null;
}

/** Folds a file's history, oldest first, into the file view's summary. */
export function fileDetailOf(history: readonly EventEnvelope[]): FileDetail {
  const detail: FileDetail = {
    before: null,
    after: null,
    plan: null,
    encodePlan: null,
    restorable: false,
    verification: null,
  };
  let lastProbe: FileDetail['before'] = null;
  // The probe of the source the latest encode started from: "before" once anything was encoded.
  let encodedFrom: FileDetail['before'] = null;
  let replaced = false;
  for (const e of history) {
    switch (e.type) {
      case 'file.probed':
        lastProbe = { media: e.data.media, sizeBytes: e.data.source.size, time: e.time };
        // The watcher sees the swapped-in replacement as changed: its probe is "after".
        if (replaced && detail.after) detail.after.media = e.data.media;
        break;
      case 'file.planned':
        detail.plan = {
          decision: e.data.decision,
          reasons: e.data.reasons,
          policyVersion: e.data.policyVersion,
          previousPolicyVersion: e.data.previousPolicyVersion ?? null,
          target: e.data.target,
          estimatedOutputBytes: e.data.estimatedOutputBytes,
          time: e.time,
        };
        break;
      case 'encode.started':
        encodedFrom = lastProbe;
        detail.encodePlan = detail.plan;
        replaced = false;
        break;
      case 'encode.completed':
        detail.after = {
          target: e.data.target,
          encoder: e.data.encoder,
          sizeBytes: e.data.outputSize,
          elapsedMs: e.data.elapsedMs,
          fps: e.data.fps ?? null,
          time: e.time,
          replacedAt: null,
          archivePath: null,
          bytesSaved: null,
          media: null,
        };
        break;
      case 'verify.passed':
      case 'verify.failed':
        detail.verification = {
          passed: e.type === 'verify.passed',
          checks: e.data.checks,
          policyVersion: e.data.policyVersion ?? null,
          time: e.time,
        };
        break;
      case 'file.replaced':
        replaced = true;
        detail.restorable = true;
        if (detail.after) {
          detail.after.replacedAt = e.time;
          detail.after.archivePath = e.data.archivePath;
          detail.after.bytesSaved = e.data.bytesSaved;
          detail.after.sizeBytes = e.data.newSize;
        }
        break;
      case 'file.restored':
        replaced = false;
        detail.restorable = false;
        detail.after = null;
        encodedFrom = null;
        break;
      default:
        break;
    }
  }
  detail.before = encodedFrom ?? lastProbe;
  return detail;
}
