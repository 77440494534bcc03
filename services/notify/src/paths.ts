import type { PathMapping } from '@conform/config';

/**
 * A conform path as a server sees it: the longest `from` prefix that matches (on a path
 * boundary) is replaced by its `to`; a path no mapping covers is passed on unchanged. Pure.
 */
export function mapPath(path: string, mappings: readonly PathMapping[]): string {
  let best: PathMapping | null = null;
  for (const m of mappings) {
    const from = trim(m.from);
    if (path !== from && !path.startsWith(from === '/' ? '/' : `${from}/`)) continue;
    if (!best || from.length > trim(best.from).length) best = m;
  }
  if (!best) return path;
  const from = trim(best.from);
  const rest = path.slice(from === '/' ? 0 : from.length);
  const to = trim(best.to);
  return to === '/' ? rest || '/' : `${to}${rest}`;
}

/** Whether `path` is `folder` or lies under it (server paths; a trailing slash is ignored). */
export function isUnder(path: string, folder: string): boolean {
  const f = trim(folder);
  return path === f || path.startsWith(f === '/' ? '/' : `${f}/`);
}

/** The folder holding a file path. */
export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function trim(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}
