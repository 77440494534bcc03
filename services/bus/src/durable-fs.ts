import * as nodeFs from 'node:fs/promises';
import { dirname } from 'node:path';

/** The filesystem calls a durable rename makes; tests pass a wrapper to inject a failure. */
export type DurableFs = Pick<typeof nodeFs, 'open' | 'rename'>;

/** Flushes one file or directory to the disk. */
export async function fsyncPath(path: string, fs: Pick<DurableFs, 'open'> = nodeFs): Promise<void> {
  const handle = await fs.open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Renames `from` over `to` so that after a crash `to` holds either its old content or all of
 * `from`'s: fsync the file (its data is on disk before its name moves), rename in one atomic
 * step, then fsync the target's directory (so the rename itself survives). The one way the
 * encoder commits an output and the archiver installs a replacement or a restored original.
 */
export async function durableRename(
  from: string,
  to: string,
  fs: DurableFs = nodeFs,
): Promise<void> {
  await fsyncPath(from, fs);
  await fs.rename(from, to);
  await fsyncPath(dirname(to), fs);
}
