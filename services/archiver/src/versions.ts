import type { FileFacts } from './decide.js';

/**
 * The archive path of the n-th original archived for one library path: the first keeps the
 * mirrored name, later ones add `.v2`, `.v3`, … after the whole name (`Film.mkv.v2`). A suffix
 * after the extension cannot be the mirrored name of another video (the watcher only picks up
 * video extensions), so versions of one file never collide with another file's archive. Pure.
 */
export function archiveVersionPath(base: string, version: number): string {
  if (!Number.isInteger(version) || version < 1) {
    throw new RangeError(`archive version must be a whole number ≥ 1, got ${version}`);
  }
  return version === 1 ? base : `${base}.v${version}`;
}

/** One version slot as observed. */
export interface VersionSlot {
  path: string;
  version: number;
  facts: FileFacts;
}

/**
 * Picks the version slot for a file: the first existing version that `isOurs` (an earlier,
 * interrupted run put it there), else the first free one. Versions are scanned up to the first
 * free slot, so a run and its re-run after a crash land on the same slot; nothing existing is
 * ever chosen unless it already holds this file.
 */
export async function chooseVersionSlot(
  base: string,
  factsAt: (path: string) => Promise<FileFacts>,
  isOurs: (path: string, facts: FileFacts & { kind: 'file' }) => Promise<boolean>,
): Promise<VersionSlot> {
  for (let version = 1; ; version++) {
    const path = archiveVersionPath(base, version);
    const facts = await factsAt(path);
    if (facts.kind === 'missing') return { path, version, facts };
    if (facts.kind === 'file' && (await isOurs(path, facts))) return { path, version, facts };
  }
}
