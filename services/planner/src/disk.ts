import { stat, statfs } from 'node:fs/promises';
import type {
  DomainEvent,
  FileDiscoveredData,
  FilePlannedData,
  MediaSummary,
  SourceStamp,
} from '@conform/contracts';
import type { HandlerContext } from '@conform/bus';
import {
  checkHealth,
  measureStreamBitRates,
  type InProcessProber,
  sampleInterlacing,
  tryProbeMedia,
  type ProbeOutcome,
} from '@conform/media';
import {
  checkFreshness,
  needsHealthCheck,
  NO_HISTORY,
  planDiscovery,
  withHealth,
  type PlanningHistory,
} from './decide.js';
import { factsNeeded, needsFacts, withFacts, type FactsNeeded } from './facts.js';
import type { Policy } from './policy.js';
import type { PolicyLookup } from './service.js';

/** Whether the file on disk is still the one described; logs why not. */
export async function stillFresh(
  discovered: FileDiscoveredData,
  hctx: HandlerContext,
): Promise<boolean> {
  const freshness = checkFreshness(discovered, await currentStamp(discovered.path));
  if (!freshness.fresh) {
    hctx.log.info(
      { path: discovered.path, why: freshness.why },
      'file changed since it was discovered; waiting for the newer discovery',
    );
  }
  return freshness.fresh;
}

/** Runs probes a few at a time, however many messages are in flight. */
export type ProbeLimit = <T>(probe: () => Promise<T>) => Promise<T>;

/**
 * Fewer probes until `until` resolves: `conform up` runs the planner beside its watcher's
 * first scan, and on a machine's few cores every ffprobe then competes with taking the
 * library into the read model (see PlannerOptions.firstScan).
 */
export interface ProbeGate {
  until: Promise<void>;
  /** Probes at once meanwhile (0: none until then). */
  slots: number;
}

/** At most `n` at once; with a `gate`, at most `gate.slots` until it opens. */
export function probeLimit(n: number, gate?: ProbeGate): ProbeLimit {
  let running = 0;
  let cap = gate ? Math.min(n, gate.slots) : n;
  const waiting: (() => void)[] = [];
  // A finished probe hands its slot straight to the next waiting one, so none is overtaken.
  const wake = () => {
    while (running < cap && waiting.length > 0) {
      running++;
      waiting.shift()!();
    }
  };
  // A gate that fails opens all the same: probing must not hang on it.
  void gate?.until
    .catch(() => undefined)
    .then(() => {
      cap = n;
      wake();
    });
  return async (probe) => {
    if (running >= cap) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await probe();
    } finally {
      running--;
      wake();
    }
  };
}

/**
 * Read (stat, probe, free space, history) → pure plan: the events to publish, or null when
 * the file changed since it was described. With a `prober` the file is read in process where
 * it can be (ffprobe otherwise, and again for any file to encode or remux). Only a plan to
 * encode takes the costly facts (idet sample, packet sizes; {@link factsNeeded}) and is then
 * decided again with them, and only encodes and remuxes get the decode health check: a
 * compliant file costs one probe.
 */
export async function planFromDisk(
  fileId: string,
  discovered: FileDiscoveredData,
  policyOf: PolicyLookup,
  historyOf: (fileId: string) => Promise<PlanningHistory>,
  hctx: HandlerContext,
  limit: ProbeLimit = (probe) => probe(),
  prober?: InProcessProber,
): Promise<DomainEvent[] | null> {
  if (!(await stillFresh(discovered, hctx))) return null;
  const policy = policyOf(discovered.library);
  const { path } = discovered;
  const signal = hctx.signal;
  // In-process readings queue on the prober's thread, so it always has the next file at hand
  // (held to `parallelism` here, it sat idle between replies); ffprobe processes are limited.
  const fast = prober
    ? await prober.probeOrFallback(path, { signal, limitFallback: limit })
    : await limit(() => tryProbeMedia(path, { signal }));
  let probe: ProbeOutcome = fast;
  if (!probe.ok) {
    hctx.log.warn({ path, reason: probe.reason }, 'file is not readable media');
  }
  // Free space and history (an earlier kept or restored outcome) only bear on work to do, and
  // a compliant or skipped file need not wait for their reads.
  let free: number | null = null;
  let history: PlanningHistory = NO_HISTORY;
  let events = planDiscovery(discovered, probe, policy, free, history);
  if (isWork(plannedOf(events))) {
    // What is done to a file is decided from ffprobe's reading, the reference: a plan to
    // encode or remux made from the in-process reading is made again from ffprobe's.
    const reread =
      'by' in fast && fast.by === 'mediainfo'
        ? limit(() => tryProbeMedia(path, { signal }))
        : Promise.resolve(probe);
    [probe, free, history] = await Promise.all([
      reread,
      freeBytes(discovered.library),
      historyOf(fileId),
    ]);
    events = planDiscovery(discovered, probe, policy, free, history);
  }
  const first = plannedOf(events);
  if (probe.ok && first) {
    const media = probe.media;
    const needed = factsNeeded(first, media, policy);
    if (needsFacts(needed)) {
      const withFacts = await limit(() => takeFacts(path, media, needed, signal));
      events = planDiscovery(discovered, { ok: true, media: withFacts }, policy, free, history);
    }
  }
  const out: DomainEvent[] = [];
  for (const next of events) {
    // The health check decodes samples of the source: as costly as a probe, so limited alike.
    out.push(
      next.type === 'file.planned' && needsHealthCheck(next.data, policy)
        ? await limit(() => checkedHealth(next, policy, hctx.signal))
        : next,
    );
  }
  return out;
}

function isWork(planned: FilePlannedData | null): boolean {
  return planned?.decision === 'encode' || planned?.decision === 'remux';
}

/** The `file.planned` data among a plan's events, if any. */
function plannedOf(events: DomainEvent[]): FilePlannedData | null {
  for (const e of events) if (e.type === 'file.planned') return e.data;
  return null;
}

/**
 * Takes the facts a plan asked for from the file (read) and adds them to the probe (pure).
 * An idet sample that found nothing decodable is recorded as null, so it is not taken again.
 */
export async function takeFacts(
  path: string,
  media: MediaSummary,
  needed: FactsNeeded,
  signal?: AbortSignal,
): Promise<MediaSummary> {
  const idet = needed.idet
    ? await sampleInterlacing(path, media.durationSec, { signal })
    : undefined;
  const streamRates =
    needed.streamRates.length > 0
      ? await measureStreamBitRates(path, media.durationSec, { signal })
      : undefined;
  return withFacts(media, {
    ...(idet !== undefined ? { idet } : {}),
    ...(streamRates ? { streamRates } : {}),
  });
}

/**
 * A probe with an idet sample added where the stream's field order says nothing and the policy
 * deinterlaces by detection, whatever the decision (tests use it to plan as from disk).
 */
export async function withIdetSample(
  probe: ProbeOutcome,
  path: string,
  policy: Policy,
  signal?: AbortSignal,
): Promise<ProbeOutcome> {
  const video = probe.ok ? probe.media.video : null;
  if (!probe.ok || !video || video.fieldOrder || policy.video.deinterlace !== 'auto') return probe;
  const idet = await sampleInterlacing(path, probe.media.durationSec, { signal });
  return { ok: true, media: { ...probe.media, video: { ...video, idet } } };
}

/**
 * A plan to encode, after its source's decode health check (read → pure verdict): unchanged
 * when healthy, `damaged` with ffmpeg's errors when not. Every other event passes through.
 */
export async function checkedHealth(
  event: DomainEvent,
  policy: Policy,
  signal?: AbortSignal,
): Promise<DomainEvent> {
  if (event.type !== 'file.planned' || !needsHealthCheck(event.data, policy)) return event;
  const mode = policy.health.check === 'full' ? 'full' : 'quick';
  const report = await checkHealth(event.data.path, event.data.durationSec, mode, { signal });
  return { type: 'file.planned', data: withHealth(event.data, report, policy) };
}

/** Free bytes for unprivileged users on the library's filesystem; null when it cannot be read. */
export async function freeBytes(dir: string): Promise<number | null> {
  try {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

async function currentStamp(path: string): Promise<SourceStamp | null> {
  try {
    const s = await stat(path);
    return { size: s.size, mtimeMs: s.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
