import { relativeInside, WORK_DIR_NAME } from '@conform/contracts';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { VerificationData } from '@conform/contracts';

/** A library the archiver may write in, and where its originals are kept. */
export interface ArchiverLibrary {
  root: string;
  archive: string;
  /**
   * What happens to originals: `archive` (the default) moves them to the archive's mirrored
   * path; `keep` keeps them next to the new file in a hidden `.conform-original/` folder (which
   * the watcher and media servers skip); `{deleteAfterDays}` archives them and deletes them from
   * the archive once that many days have passed since the replacement.
   */
  originals?: OriginalsPolicy;
  /** Give a replacement the original's mtime as well as its mode, owner and group; default false. */
  keepMtime?: boolean;
  /**
   * Hours after which leftovers of failed swaps and verifications (outputs in the work folder,
   * archive copies of originals still in place) are removed by `conform clean` and the sweep.
   */
  workRetentionHours?: number;
}

/** Per-library originals policy; see {@link ArchiverLibrary.originals}. */
export type OriginalsPolicy = 'archive' | 'keep' | { deleteAfterDays: number };

/** Hidden folder beside a replaced file holding its original under the `keep` policy. */
export const KEPT_DIR_NAME = '.conform-original';

/** Every path one swap touches, resolved and checked against its library and archive. */
export interface SwapPaths {
  library: string;
  archiveRoot: string;
  /** `<library>/.conform-work`: the only place a verified output may come from. */
  workDir: string;
  /** The original, as discovered. */
  path: string;
  relativePath: string;
  outputPath: string;
  /** The original's place in the archive: the archive root plus the path relative to the library. */
  archivePath: string;
  /** Where the output ends up: `path`, with its extension changed to the target container's. */
  finalPath: string;
}

export type SwapPathsResult = { ok: true; paths: SwapPaths } | { ok: false; reason: string };

/** `path` with its extension replaced by `.<container>`, unless it already has it (any case). */
export function finalPathFor(path: string, container: string): string {
  const ext = extname(path);
  const wanted = `.${container}`;
  if (ext.toLowerCase() === wanted) return path;
  return `${ext === '' ? path : path.slice(0, -ext.length)}${wanted}`;
}

/**
 * Works out where a verified output goes and where its original is archived, refusing
 * (invariant 6) anything that would write outside a configured library, its archive, or take
 * its output from anywhere but the library's work directory. Pure: no filesystem access.
 */
export function resolveSwapPaths(
  data: Pick<VerificationData, 'library' | 'path' | 'outputPath' | 'target'>,
  libraries: readonly ArchiverLibrary[],
): SwapPathsResult {
  const library = resolve(data.library);
  const configured = libraries.find((l) => resolve(l.root) === library);
  if (!configured) {
    return { ok: false, reason: `library ${data.library} is not a configured library` };
  }
  const path = resolve(data.path);
  const relativePath = relativeInside(library, path);
  if (relativePath === null) {
    return { ok: false, reason: `${data.path} is outside library ${library}` };
  }
  const workDir = join(library, WORK_DIR_NAME);
  if (relativeInside(workDir, path) !== null) {
    return { ok: false, reason: `${data.path} is inside the work directory ${workDir}` };
  }
  const outputPath = resolve(data.outputPath);
  if (relativeInside(workDir, outputPath) === null) {
    return { ok: false, reason: `output ${data.outputPath} is not inside ${workDir}` };
  }
  const finalPath = finalPathFor(path, data.target.container);
  if (relativeInside(library, finalPath) === null || dirname(finalPath) !== dirname(path)) {
    return { ok: false, reason: `${finalPath} is outside library ${library}` };
  }
  const keep = configured.originals === 'keep';
  const archiveRoot = keep ? library : resolve(configured.archive);
  const archivePath = keep
    ? join(dirname(path), KEPT_DIR_NAME, basename(path))
    : join(archiveRoot, relativePath);
  if (relativeInside(archiveRoot, archivePath) === null) {
    return { ok: false, reason: `archive path ${archivePath} escapes archive ${archiveRoot}` };
  }
  return {
    ok: true,
    paths: {
      library,
      archiveRoot,
      workDir,
      path,
      relativePath,
      outputPath,
      archivePath,
      finalPath,
    },
  };
}
