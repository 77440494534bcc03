import { access, mkdir, rmdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * One classification of filesystem errors for every service that touches files (encoder,
 * archiver): a permanent error needs an operator (free the disk, lift `chattr +i`, remount
 * read-write, fix permissions), so retrying it blindly only burns deliveries; anything else may
 * pass on its own and is retried with back-off.
 */
export type FsErrorVerdict =
  | { permanent: true; code: string; reason: string }
  | { permanent: false; code: string | null; reason: string };

/** errno codes no retry can fix, with what the operator must do. */
export const PERMANENT_FS_ERRORS: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device; free space, then retry',
  EDQUOT: 'disk quota exceeded; raise the quota or free space, then retry',
  EROFS: 'the filesystem is read-only; remount it read-write, then retry',
  EPERM: 'operation not permitted (an immutable file, chattr +i?); lift it, then retry',
  EACCES: 'permission denied; fix the owner or mode, then retry',
  ENAMETOOLONG: 'the file name is too long for this filesystem',
};

/** Classifies an error from a filesystem call (its `code`, `path`, `dest`). Pure. */
export function classifyFsError(err: unknown): FsErrorVerdict {
  const e = (err ?? {}) as { code?: unknown; path?: unknown; dest?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : null;
  const where = typeof e.dest === 'string' ? e.dest : typeof e.path === 'string' ? e.path : null;
  const message = typeof e.message === 'string' ? e.message : String(err);
  const advice = code ? PERMANENT_FS_ERRORS[code] : undefined;
  if (code && advice) {
    return { permanent: true, code, reason: `${where ?? 'a file'}: ${advice} (${code})` };
  }
  return { permanent: false, code, reason: message };
}

/**
 * The delay before the `attempt`-th retry (1-based): `baseMs` doubled per earlier attempt,
 * capped at `maxMs`. Pure.
 */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs = 15 * 60_000): number {
  const n = Math.max(1, Math.floor(attempt));
  return Math.min(maxMs, baseMs * 2 ** (n - 1));
}

/**
 * The real cause of a failed `mkdir -p`: node's recursive mkdir answers ENOENT on a read-only
 * or unwritable filesystem, which would read as transient. A plain mkdir of the first missing
 * folder below an existing one surfaces EROFS/EACCES/EPERM; otherwise the error stays as it was.
 */
export async function explainMkdirFailure(dir: string, err: unknown): Promise<unknown> {
  if ((err as { code?: unknown })?.code !== 'ENOENT') return err;
  let missing = dir;
  while (dirname(missing) !== missing && !(await exists(dirname(missing)))) {
    missing = dirname(missing);
  }
  try {
    await mkdir(missing);
    await rmdir(missing); // it worked after all: leave nothing behind, report the original
    return err;
  } catch (real) {
    return (real as { code?: unknown }).code === 'EEXIST' ? err : real;
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
