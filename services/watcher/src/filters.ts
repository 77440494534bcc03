import { relativeInside } from '@conform/contracts';
import { extname, sep } from 'node:path';
import { matchesGlob } from '@conform/config';

/** Extensions (lower case, with the dot) of files the pipeline treats as videos. */
export const VIDEO_EXTENSIONS: ReadonlySet<string> = new Set([
  '.mkv',
  '.mp4',
  '.m4v',
  '.mov',
  '.avi',
  '.ts',
  '.m2ts',
  '.wmv',
  '.webm',
  '.mpg',
  '.mpeg',
  '.flv',
]);

/** Suffixes download clients and copy tools give files that are still being written. */
export const PARTIAL_SUFFIXES: readonly string[] = [
  '.part',
  '.partial',
  '.!qb',
  '.tmp',
  '.crdownload',
];

/**
 * True for anything below `root` with a path segment starting with `.`: hidden folders,
 * dot files, and the encoder's `.conform-work/` scratch directory, which must never be
 * mistaken for library content.
 */
export function isHiddenBelow(root: string, path: string): boolean {
  const rel = relativeInside(root, path);
  if (rel === null) return false;
  return rel.split(sep).some((segment) => segment.startsWith('.'));
}

/** Why a file name is not a discoverable video, or null when it is one. */
export function rejectFileName(
  name: string,
  extensions: ReadonlySet<string> = VIDEO_EXTENSIONS,
): string | null {
  const lower = name.toLowerCase();
  if (PARTIAL_SUFFIXES.some((suffix) => lower.endsWith(suffix))) {
    return 'a partial download or temporary file';
  }
  if (!extensions.has(extname(lower))) return 'not a video extension';
  return null;
}

/** Which files of one library are candidates, from its configuration. */
export interface LibraryFilterOptions {
  /** Video extensions, with or without the dot, any case; default {@link VIDEO_EXTENSIONS}. */
  extensions?: readonly string[];
  /** Globs relative to the library root (e.g. `Movies/**`); when given, only matches count. */
  include?: readonly string[];
  /** Globs relative to the library root (any folder named Extras, say); matches never count. */
  exclude?: readonly string[];
}

/** Why a path (relative to its library) is not a candidate, or null when it is one. Pure. */
export type LibraryFilter = (relativePath: string) => string | null;

/** Builds the filter of one library: name rules, extensions, include and exclude globs. */
export function libraryFilter(opts: LibraryFilterOptions = {}): LibraryFilter {
  const extensions = opts.extensions
    ? new Set(opts.extensions.map((e) => (e.startsWith('.') ? e : `.${e}`).toLowerCase()))
    : VIDEO_EXTENSIONS;
  // The same matcher as the policy's exclusions: `**` spans folders, case is ignored, and
  // brackets such as `Film (2020)` are plain characters.
  const matchesAny = (globs: readonly string[] | undefined, path: string) =>
    (globs ?? []).some((glob) => matchesGlob(path, glob));
  return (relativePath) => {
    const name = relativePath.split(sep).at(-1) ?? relativePath;
    const byName = rejectFileName(name, extensions);
    if (byName) return byName;
    const posix = relativePath.split(sep).join('/');
    if (opts.include?.length && !matchesAny(opts.include, posix)) {
      return 'not matched by the library include globs';
    }
    if (matchesAny(opts.exclude, posix)) return 'matched by a library exclude glob';
    return null;
  };
}
