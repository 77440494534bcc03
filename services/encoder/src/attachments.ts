import { rm } from 'node:fs/promises';
import type { EncodeTarget } from '@conform/contracts';
import { runFfmpeg } from '@conform/media';
import type { AttachFile } from './args.js';
import { coverArtFiles, coverExtractArgs } from './cover-args.js';

/**
 * Extracts the cover art an mkv output attaches next to the partial output (same work
 * directory), returning the files to attach and a cleanup that removes them again.
 */
export async function extractCoverArt(
  inputPath: string,
  target: EncodeTarget,
  partialPath: string,
  signal?: AbortSignal,
): Promise<{ files: AttachFile[]; cleanup: () => Promise<void> }> {
  const files = coverArtFiles(target.streams, target.container, partialPath);
  const cleanup = async () => {
    await Promise.all(files.map((f) => rm(f.path, { force: true })));
  };
  try {
    for (const f of files)
      await runFfmpeg(coverExtractArgs(inputPath, f.index, f.path), { signal });
  } catch (err) {
    await cleanup();
    throw err;
  }
  return {
    files: files.map(({ path, mimetype, filename }) => ({ path, mimetype, filename })),
    cleanup,
  };
}
