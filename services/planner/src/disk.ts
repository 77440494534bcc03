import { stat, statfs } from 'node:fs/promises';
import type { DomainEvent, FileDiscoveredData, SourceStamp } from '@conform/contracts';
import type { HandlerContext } from '@conform/bus';
import { checkHealth, tryProbeMedia } from '@conform/media';
import {
  checkFreshness,
  needsHealthCheck,
  planDiscovery,
  withHealth,
  type PlanningHistory,
} from './decide.js';
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

/** At most `n` at once. */
export function probeLimit(n: number): ProbeLimit {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (probe) => {
    if (running >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await probe();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/**
 * Read (stat, probe, free space, history) → pure plan: the events to publish, or null when
 * the file changed since it was described.
 */
export async function planFromDisk(
  fileId: string,
  discovered: FileDiscoveredData,
  policyOf: PolicyLookup,
  historyOf: (fileId: string) => Promise<PlanningHistory>,
  hctx: HandlerContext,
  limit: ProbeLimit = (probe) => probe(),
): Promise<DomainEvent[] | null> {
  if (!(await stillFresh(discovered, hctx))) return null;
  const probe = await limit(() => tryProbeMedia(discovered.path, { signal: hctx.signal }));
  if (!probe.ok) {
    hctx.log.warn({ path: discovered.path, reason: probe.reason }, 'file is not readable media');
  }
  const policy = policyOf(discovered.library);
  const free = await freeBytes(discovered.library);
  const history = await historyOf(fileId);
  const events: DomainEvent[] = [];
  for (const next of planDiscovery(discovered, probe, policy, free, history)) {
    // The health check decodes samples of the source: as costly as a probe, so limited alike.
    events.push(await limit(() => checkedHealth(next, policy, hctx.signal)));
  }
  return events;
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
