import { stat, statfs } from 'node:fs/promises';
import type { DomainEvent, SourceStamp } from '@conform/contracts';
import {
  consumerSpec,
  lastEventOf,
  startSubscriptions,
  type Bus,
  type EventHandler,
  type RunningService,
  type ServiceContext,
} from '@conform/bus';
import { checkHealth, sampleInterlacing, tryProbeMedia, type ProbeOutcome } from '@conform/media';
import {
  checkFreshness,
  needsHealthCheck,
  NO_HISTORY,
  planDiscovery,
  replanKnownFile,
  withHealth,
  type PlanningHistory,
} from './decide.js';
import { readKnownFiles } from './known-files.js';
import { DEFAULT_POLICY, policyVersion, type Policy } from './policy.js';

/** A library root and the policy that decides its files. */
export interface LibraryPolicy {
  root: string;
  policy: Policy;
}

/** Options of {@link startPlanner}. */
export interface PlannerOptions {
  /** Files probed at once by this process; defaults to 2. */
  slots?: number;
  /** Policy for files of libraries not listed in `libraries`; defaults to {@link DEFAULT_POLICY}. */
  policy?: Policy;
  /** Per-library policies (from quality.yaml). */
  libraries?: LibraryPolicy[];
  /** Re-decide known files whose plan came from another policy version at start; default true. */
  replanOnStart?: boolean;
}

/** What a re-plan pass did. */
export interface ReplanSummary {
  /** Files whose last plan the pass looked at. */
  examined: number;
  /** Files that got a new `file.planned`. */
  replanned: number;
}

/**
 * Starts the planner: for each `file.discovered` or `file.changed`, re-checks the file is unchanged, probes it
 * and publishes `file.probed` + `file.planned`, or `file.unreadable`. At start it first
 * re-plans, from the stored probes, every file whose decision the current policy changes.
 */
export async function startPlanner(
  ctx: ServiceContext,
  opts: PlannerOptions = {},
): Promise<RunningService> {
  const policyOf = policyLookup(opts);
  ctx.log.info(
    {
      policyVersion: policyVersion(opts.policy ?? DEFAULT_POLICY),
      libraries: (opts.libraries ?? []).map((l) => ({
        root: l.root,
        policyVersion: policyVersion(l.policy),
      })),
    },
    'planner policy',
  );
  const service = await startSubscriptions('planner', ctx, [
    {
      consumer: consumerSpec('planner', 'file.discovered'),
      slots: opts.slots ?? 2,
      handle: plannerHandler(policyOf, (fileId) => readPlanningHistory(ctx.bus, fileId)),
    },
    // New content at a known path (the watcher keeps its id) is planned like a new file.
    {
      consumer: consumerSpec('planner', 'file.changed'),
      slots: 1,
      handle: plannerHandler(policyOf, (fileId) => readPlanningHistory(ctx.bus, fileId)),
    },
  ]);
  if (opts.replanOnStart ?? true) {
    try {
      const summary = await replanChangedFiles(ctx, policyOf);
      ctx.log.info(summary, 're-planned files whose decision the policy changed');
    } catch (err) {
      await service.stop();
      throw err;
    }
  }
  return service;
}

/** Which policy decides a file of `library`. */
export type PolicyLookup = (library: string) => Policy;

/** Resolves the policy of each library from the options: its own, else the default. */
export function policyLookup(opts: Pick<PlannerOptions, 'policy' | 'libraries'>): PolicyLookup {
  const fallback = opts.policy ?? DEFAULT_POLICY;
  const byRoot = new Map((opts.libraries ?? []).map((l) => [l.root, l.policy]));
  return (library) => byRoot.get(library) ?? fallback;
}

/**
 * Re-decides every known file under its library's current policy and publishes a new
 * `file.planned` exactly where the decision or target changed. Idempotent: the event id is
 * derived from the plan it replaces and the new version, so a repeat is deduplicated.
 */
export async function replanChangedFiles(
  ctx: ServiceContext,
  policyOf: PolicyLookup,
): Promise<ReplanSummary> {
  const known = await readKnownFiles(ctx.bus);
  const free = new Map<string, number | null>();
  let replanned = 0;
  for (const file of known) {
    const library = file.probed.data.library;
    if (!free.has(library)) free.set(library, await freeBytes(library));
    const policy = policyOf(library);
    const planned = replanKnownFile(file, policy, free.get(library) ?? null);
    if (!planned) continue;
    const next = await checkedHealth(planned, policy);
    await ctx.publisher.emit(next, {
      fileId: file.fileId,
      causation: file.probed,
      discriminator: `replan:${file.planned?.id ?? 'none'}:${policyVersion(policy)}`,
    });
    replanned++;
  }
  return { examined: known.length, replanned };
}

/** Reads the latest size-guard failure and restore of a file from the event log. */
export async function readPlanningHistory(
  bus: Pick<Bus, 'jsm'>,
  fileId: string,
): Promise<PlanningHistory> {
  const failed = (await lastEventOf(bus, 'verify.failed', fileId))?.event;
  const kept = (await lastEventOf(bus, 'file.kept', fileId))?.event;
  const restored = (await lastEventOf(bus, 'file.restored', fileId))?.event;
  const sizeGuardFailed = failed?.data.checks.some((c) => c.name === 'size-guard' && !c.passed);
  return {
    sizeGuardFailedUnder:
      kept?.data.policyVersion ?? (sizeGuardFailed ? (failed?.data.policyVersion ?? null) : null),
    restoredUnder: restored?.data.policyVersion ?? null,
  };
}

/** The planner's message handler: read (stat, probe, free space, history) → pure plan → publish. */
export function plannerHandler(
  policyOf: PolicyLookup,
  historyOf: (fileId: string) => Promise<PlanningHistory> = async () => NO_HISTORY,
): EventHandler {
  return async (event, hctx) => {
    if (event.type !== 'file.discovered' && event.type !== 'file.changed') return;
    const discovered = event.data;
    const freshness = checkFreshness(discovered, await currentStamp(discovered.path));
    if (!freshness.fresh) {
      hctx.log.info(
        { path: discovered.path, why: freshness.why },
        'file changed since it was discovered; waiting for the newer discovery',
      );
      return;
    }
    const policy = policyOf(discovered.library);
    const probe = await withIdetSample(
      await tryProbeMedia(discovered.path, { signal: hctx.signal }),
      discovered.path,
      policy,
      hctx.signal,
    );
    if (!probe.ok) {
      hctx.log.warn({ path: discovered.path, reason: probe.reason }, 'file is not readable media');
    }
    const free = await freeBytes(discovered.library);
    const history = await historyOf(event.fileId);
    for (const next of planDiscovery(discovered, probe, policy, free, history)) {
      await hctx.emit(await checkedHealth(next, policy, hctx.signal));
    }
  };
}

/**
 * A probe with an idet sample added where the stream's field order says nothing and the policy
 * deinterlaces by detection; it goes into file.probed, so a re-plan decides from it too.
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
