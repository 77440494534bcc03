import { availableParallelism } from 'node:os';
import { InProcessProber } from '@conform/media';
import {
  consumerSpec,
  lastEventOf,
  startSubscriptions,
  type Bus,
  type EventHandler,
  type RunningService,
  type ServiceContext,
} from '@conform/bus';
import { heldPlan, holdOf, NO_HISTORY, type PlanningHistory } from './decide.js';
import { planFromDisk, probeLimit, stillFresh, type ProbeGate, type ProbeLimit } from './disk.js';
import { heldPlanHandler } from './held.js';
import { replanOnStart } from './replan.js';
import type { QueueRule } from './order.js';
import { publishAtOnce, publishInQueueOrder, type PublishPlans } from './queue.js';
import { DEFAULT_POLICY, policyVersion, type Policy } from './policy.js';

/** A library root and the policy that decides its files. */
export interface LibraryPolicy {
  root: string;
  policy: Policy;
  /** Queue order of its encodes within a planning batch (quality.yaml `order`). */
  order?: QueueRule['order'];
  /** Higher goes first within a planning batch; default 0. */
  priority?: number;
  /** Files of this library probed at once (quality.yaml `parallelism`); default `slots`. */
  parallelism?: number;
}

/** Options of {@link startPlanner}. */
export interface PlannerOptions {
  /**
   * Files probed at once for libraries without a `parallelism` of their own; defaults to the
   * number of cores ({@link defaultPlannerParallelism}).
   */
  slots?: number;
  /** Policy for files of libraries not listed in `libraries`; defaults to {@link DEFAULT_POLICY}. */
  policy?: Policy;
  /** Per-library policies (from quality.yaml). */
  libraries?: LibraryPolicy[];
  /** Re-decide known files whose plan came from another policy version at start; default true. */
  replanOnStart?: boolean;
  /** The clock holds (`holdNewFilesMinutes`) are measured against; defaults to Date.now. */
  now?: () => number;
  /**
   * When a library has an `order` or `priority`: how long plans are gathered before they are
   * published in queue order, and at most how many; defaults 2 s and 64.
   */
  queueBatch?: { windowMs: number; max: number };
  /**
   * Read Matroska, MP4/MOV and AVI files in process (MediaInfoLib), ffprobe only where that cannot
   * be trusted and for files to encode or remux; default true. False: ffprobe for every file.
   */
  inProcessProbe?: boolean;
  /**
   * Fewer ffprobes (`slots` at once) until `until` resolves. `conform up` passes its watcher's
   * first scan: with every service on one machine, probes would take a core from taking the
   * library into the read model, and they are the long part of the work anyway (one ffprobe
   * per file, minutes for a large library, against seconds for its scan). Default: none.
   */
  firstScan?: ProbeGate;
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
  const historyOf = (fileId: string) => readPlanningHistory(ctx.bus, fileId);
  const now = opts.now ?? Date.now;
  const ordered = (opts.libraries ?? []).some((l) => l.order || l.priority);
  const batch = opts.queueBatch ?? { windowMs: 2_000, max: 64 };
  // Ordering needs a batch's messages in flight at once; probes stay `parallelism` at a time.
  const limits = probeLimits(opts);
  const limit = limits.of;
  // Each pull slot spends most of a message's time on NATS round trips (pull, history reads,
  // two publishes, ack), not on its probe: eight per probe keep the probes busy.
  const pullSlots = ordered ? batch.max : Math.min(64, PULLS_PER_PROBE * limits.total);
  const publish = ordered ? publishInQueueOrder(queueRules(opts), batch) : publishAtOnce;
  // MediaInfoLib parses on the prober's own thread (one core's worth, beside this one); two
  // readings there overlap one's file reads with the other's parsing.
  const prober =
    (opts.inProcessProbe ?? true) ? new InProcessProber(Math.min(2, limits.total)) : undefined;
  const service = await startSubscriptions('planner', ctx, [
    {
      consumer: consumerSpec('planner', 'file.discovered'),
      slots: pullSlots,
      handle: plannerHandler(policyOf, historyOf, now, publish, limit, prober),
    },
    // New content at a known path (the watcher keeps its id) is planned like a new file.
    {
      consumer: consumerSpec('planner', 'file.changed'),
      slots: ordered ? batch.max : 1,
      handle: plannerHandler(policyOf, historyOf, now, publish, limit, prober),
    },
    // Held plans come back when their hold ends. They wait in this consumer of their own (naked
    // with the remaining time), so however many are held, discoveries are never held up.
    {
      consumer: consumerSpec('planner', 'file.planned', { maxAckPending: 10_000, maxDeliver: 10 }),
      slots: 1,
      handle: heldPlanHandler(ctx.bus, policyOf, historyOf, now),
    },
  ]);
  if (opts.replanOnStart ?? true) {
    try {
      await replanOnStart(ctx, opts, policyOf);
    } catch (err) {
      await service.stop();
      prober?.close();
      throw err;
    }
  }
  return {
    name: service.name,
    stop: async () => {
      await service.stop();
      prober?.close();
    },
  };
}

/** Messages in flight per probe slot (see startPlanner). */
const PULLS_PER_PROBE = 8;

/** Files probed at once when nothing says otherwise: one per core. */
export function defaultPlannerParallelism(): number {
  return Math.max(1, availableParallelism());
}

/**
 * One {@link probeLimit} per library with a `parallelism` of its own (a NAS share is I/O-bound
 * and may want fewer, or more), one shared by the rest; `total` is their sum.
 */
export function probeLimits(opts: Pick<PlannerOptions, 'slots' | 'libraries' | 'firstScan'>): {
  of: (library: string) => ProbeLimit;
  total: number;
} {
  const slots = opts.slots ?? defaultPlannerParallelism();
  const shared = probeLimit(slots, opts.firstScan);
  const own = (opts.libraries ?? []).filter((l) => l.parallelism !== undefined);
  const byRoot = new Map(own.map((l) => [l.root, probeLimit(l.parallelism!, opts.firstScan)]));
  return {
    of: (library) => byRoot.get(library) ?? shared,
    total: slots + own.reduce((sum, l) => sum + l.parallelism!, 0),
  };
}

/** Which policy decides a file of `library`. */
export type PolicyLookup = (library: string) => Policy;

/** Each library's queue rule; libraries not listed queue last among priority 0. */
export function queueRules(
  opts: Pick<PlannerOptions, 'libraries'>,
): (library: string) => QueueRule {
  const libraries = opts.libraries ?? [];
  const byRoot = new Map(
    libraries.map((l, rank) => [
      l.root,
      { priority: l.priority ?? 0, rank, order: l.order ?? null } satisfies QueueRule,
    ]),
  );
  const fallback: QueueRule = { priority: 0, rank: libraries.length, order: null };
  return (library) => byRoot.get(library) ?? fallback;
}

/** Resolves the policy of each library from the options: its own, else the default. */
export function policyLookup(opts: Pick<PlannerOptions, 'policy' | 'libraries'>): PolicyLookup {
  const fallback = opts.policy ?? DEFAULT_POLICY;
  const byRoot = new Map((opts.libraries ?? []).map((l) => [l.root, l.policy]));
  return (library) => byRoot.get(library) ?? fallback;
}

/** Reads the latest size-guard failure and restore of a file from the event log. */
export async function readPlanningHistory(
  bus: Pick<Bus, 'jsm'>,
  fileId: string,
): Promise<PlanningHistory> {
  const [lastFailed, lastKept, lastRestored] = await Promise.all([
    lastEventOf(bus, 'verify.failed', fileId),
    lastEventOf(bus, 'file.kept', fileId),
    lastEventOf(bus, 'file.restored', fileId),
  ]);
  const failed = lastFailed?.event;
  const kept = lastKept?.event;
  const restored = lastRestored?.event;
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
  now: () => number = Date.now,
  publish: PublishPlans = publishAtOnce,
  limitOf?: (library: string) => ProbeLimit,
  prober?: InProcessProber,
): EventHandler {
  return async (event, hctx) => {
    if (event.type !== 'file.discovered' && event.type !== 'file.changed') return;
    const policy = policyOf(event.data.library);
    const hold = holdOf(event.data, policy, now());
    if (hold) {
      if (!(await stillFresh(event.data, hctx))) return;
      // Recorded as a plan so the status page says why; the held-plan consumer brings it back.
      await hctx.emit(heldPlan(event.data, policy, hold), { discriminator: 'held' });
      return;
    }
    const events = await planFromDisk(
      event.fileId,
      event.data,
      policyOf,
      historyOf,
      hctx,
      limitOf?.(event.data.library),
      prober,
    );
    if (events) await publish(event.data.library, events, hctx);
  };
}
