import { extname, isAbsolute, relative, sep } from 'node:path';

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
 * The path relative to `root`, or null when it is the root itself or lies outside it.
 * Both must be absolute and normalised.
 */
export function relativeInside(root: string, path: string): string | null {
  const rel = relative(root, path);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return null;
  return rel;
}

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
export function rejectFileName(name: string): string | null {
  const lower = name.toLowerCase();
  if (PARTIAL_SUFFIXES.some((suffix) => lower.endsWith(suffix))) {
    return 'a partial download or temporary file';
  }
  if (!VIDEO_EXTENSIONS.has(extname(lower))) return 'not a video extension';
  return null;
}
