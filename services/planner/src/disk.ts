import { stat, statfs } from 'node:fs/promises';
import type { FileDiscoveredData, SourceStamp } from '@conform/contracts';
import type { HandlerContext } from '@conform/bus';
import { tryProbeMedia } from '@conform/media';
import { checkFreshness, planDiscovery, type PlanningHistory } from './decide.js';
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

/** Read (stat, probe, free space, history) → pure plan → publish the plan's events. */
export async function planFromDisk(
  fileId: string,
  discovered: FileDiscoveredData,
  policyOf: PolicyLookup,
  historyOf: (fileId: string) => Promise<PlanningHistory>,
  hctx: HandlerContext,
): Promise<void> {
  if (!(await stillFresh(discovered, hctx))) return;
  const probe = await tryProbeMedia(discovered.path, { signal: hctx.signal });
  if (!probe.ok) {
    hctx.log.warn({ path: discovered.path, reason: probe.reason }, 'file is not readable media');
  }
  const policy = policyOf(discovered.library);
  const free = await freeBytes(discovered.library);
  const history = await historyOf(fileId);
  for (const next of planDiscovery(discovered, probe, policy, free, history)) {
    await hctx.emit(next);
  }
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
