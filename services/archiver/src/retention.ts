import { resolve } from 'node:path';
import type { DomainEventOf, EventEnvelope } from '@conform/contracts';
import { fsyncPath } from '@conform/bus';
import { factsOf, realFs, type SwapFs } from './apply.js';
import type { ArchiverLibrary } from './paths.js';
import { dirname } from 'node:path';

const DAY_MS = 24 * 60 * 60 * 1000;

/** An archived original whose retention ran out. */
export interface ExpiredOriginal {
  replaced: EventEnvelope<'file.replaced'>;
  retentionDays: number;
}

/**
 * Which archived originals may go: their library opted in with `{deleteAfterDays}`, the
 * replacement is that many days old, and the file was not restored since. Pure: the clock and
 * the latest events come in as data.
 */
export function expiredOriginals(
  replacements: readonly { seq: number; event: EventEnvelope<'file.replaced'> }[],
  restoredSeq: ReadonlyMap<string, number>,
  libraries: readonly ArchiverLibrary[],
  nowMs: number,
): ExpiredOriginal[] {
  const expired: ExpiredOriginal[] = [];
  for (const { seq, event } of replacements) {
    const lib = libraries.find((l) => resolve(l.root) === resolve(event.data.library));
    const policy = lib?.originals;
    if (!policy || typeof policy !== 'object') continue;
    if ((restoredSeq.get(event.fileId) ?? 0) > seq) continue;
    if (nowMs - Date.parse(event.time) < policy.deleteAfterDays * DAY_MS) continue;
    expired.push({ replaced: event, retentionDays: policy.deleteAfterDays });
  }
  return expired;
}

/**
 * Deletes one expired original from the archive, only while its replacement still stands in
 * the library; returns the `original.deleted` to publish, or null when there is nothing to do.
 */
export async function deleteExpiredOriginal(
  expired: ExpiredOriginal,
  fs: SwapFs = realFs,
): Promise<DomainEventOf<'original.deleted'> | null> {
  const { data } = expired.replaced;
  const [archived, replacement] = await Promise.all([
    factsOf(fs, data.archivePath),
    factsOf(fs, data.newPath),
  ]);
  if (archived.kind !== 'file' || replacement.kind !== 'file') return null;
  await fs.unlink(data.archivePath);
  await fsyncPath(dirname(data.archivePath), fs);
  return {
    type: 'original.deleted',
    data: {
      library: data.library,
      path: data.path,
      archivePath: data.archivePath,
      size: archived.size,
      retentionDays: expired.retentionDays,
    },
  };
}
