import { tryProbeMedia } from '@conform/media';
import type { FilePlannedData, MediaSummary } from '@conform/contracts';
import type { ServiceContext } from '@conform/bus';
import { replanKnownFile, type ProbedFile } from './decide.js';
import { checkedHealth, freeBytes, takeFacts } from './disk.js';
import { factsNeeded, needsFacts, withFacts } from './facts.js';
import { readKnownFiles } from './known-files.js';
import { DEFAULT_POLICY, policyVersion, type Policy } from './policy.js';
import { openReplanMarker, PLANNER_BUCKET, replanKey } from './replan-marker.js';
import type { PlannerOptions, PolicyLookup, ReplanSummary } from './service.js';

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
    let planned = replanKnownFile(file, policy, free.get(library) ?? null);
    if (!planned) continue;
    // Work is decided from ffprobe's reading with its facts; the stored one may be the
    // in-process reading of a file that was compliant. A new reading is recorded in a
    // file.probed, so the next re-plan decides from it too.
    const media =
      planned.type === 'file.planned' ? await readingForWork(file, planned.data, policy) : null;
    if (media) {
      const probed = {
        type: 'file.probed' as const,
        data: { ...file.probed.data, media },
      };
      await ctx.publisher.emit(probed, {
        fileId: file.fileId,
        causation: file.probed,
        discriminator: `replan-facts:${file.planned?.id ?? 'none'}:${policyVersion(policy)}`,
      });
      const withFacts = { ...file, probed: { ...file.probed, data: probed.data } };
      planned = replanKnownFile(withFacts, policy, free.get(library) ?? null) ?? planned;
    }
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

/**
 * For a re-plan that now encodes or remuxes: the file as ffprobe reads it (keeping an idet
 * sample and measured rates the stored reading has), with the facts the plan needs; null when
 * that is what is stored already, or when the plan does no work. Read, then pure merge.
 */
export async function readingForWork(
  file: ProbedFile,
  planned: FilePlannedData,
  policy: Policy,
): Promise<MediaSummary | null> {
  if (planned.decision !== 'encode' && planned.decision !== 'remux') return null;
  const { path, media: stored } = file.probed.data;
  const reread = await tryProbeMedia(path);
  let media = stored;
  if (reread.ok) {
    const rates = new Map(
      (stored.streams ?? []).flatMap((s) => (s.bitRate ? [[s.index, s.bitRate] as const] : [])),
    );
    media = withFacts(reread.media, {
      ...(stored.video?.idet !== undefined ? { idet: stored.video.idet } : {}),
      streamRates: rates,
    });
  }
  const needed = factsNeeded(planned, media, policy);
  if (needsFacts(needed)) media = await takeFacts(path, media, needed);
  return JSON.stringify(media) === JSON.stringify(stored) ? null : media;
}

/**
 * The start-up re-plan pass, skipped when its policies are those of the last complete pass
 * (see replan-marker.ts). The marker is bookkeeping: when it cannot be read the pass runs.
 */
export async function replanOnStart(
  ctx: ServiceContext,
  opts: PlannerOptions,
  policyOf: PolicyLookup,
): Promise<void> {
  const key = replanKey(opts.policy ?? DEFAULT_POLICY, opts.libraries ?? []);
  const marker = await openReplanMarker(ctx.bus, ctx.eventLog?.replicas).catch((err: unknown) => {
    ctx.log.warn({ err, bucket: PLANNER_BUCKET }, 'no re-plan marker: re-planning to be sure');
    return null;
  });
  if (marker && (await marker.matches(key).catch(() => false))) {
    ctx.log.info('policies unchanged since the last re-plan pass: nothing to re-plan');
    return;
  }
  const summary = await replanChangedFiles(ctx, policyOf);
  ctx.log.info(summary, 're-planned files whose decision the policy changed');
  await marker?.record(key).catch((err: unknown) => {
    ctx.log.warn({ err, bucket: PLANNER_BUCKET }, 'could not record the re-plan pass');
  });
}
