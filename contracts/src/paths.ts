import { isAbsolute, relative, sep } from 'node:path';

// Path conventions every service that touches a library shares: nothing escapes its library,
// and the encoder's scratch files live in one folder that the watcher never reads as content.

/** The work directory inside each library; on the library's filesystem so the swap is a rename. */
export const WORK_DIR_NAME = '.conform-work';

/**
 * The path relative to `root`, or null when it is the root itself or lies outside it.
 * Both must be absolute and normalised.
 */
export function relativeInside(root: string, path: string): string | null {
  // `root/rest` with plain segments is `rest`: no need for path.relative, which resolves both
  // against the working directory (the watcher asks three times per file of a scan). Anything
  // else (`.` or `..` segments, doubled or trailing separators) takes the general way.
  if (path.length > root.length + 1 && path.startsWith(root) && path[root.length] === sep) {
    const rest = path.slice(root.length + 1);
    if (
      rest[0] !== '.' &&
      rest[0] !== sep &&
      !rest.includes(`${sep}.`) &&
      !rest.includes(sep + sep) &&
      !rest.endsWith(sep) &&
      isAbsolute(root)
    )
      return rest;
  }
  const rel = relative(root, path);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return null;
  return rel;
}
