import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { FileFingerprint } from '@conform/contracts';

const MIB = 1024 * 1024;

/**
 * Device, inode, size, mtime and a sha256 of the first and last MiB: enough to recognise a
 * renamed or moved file without reading all of it.
 */
export async function fingerprintFile(path: string): Promise<FileFingerprint> {
  const handle = await open(path, 'r');
  try {
    const info = await handle.stat();
    const hash = createHash('sha256');
    const head = Buffer.alloc(Math.min(MIB, info.size));
    await handle.read(head, 0, head.length, 0);
    hash.update(head);
    if (info.size > MIB) {
      const tailLength = Math.min(MIB, info.size - MIB);
      const tail = Buffer.alloc(tailLength);
      await handle.read(tail, 0, tailLength, info.size - tailLength);
      hash.update(tail);
    }
    return {
      dev: info.dev,
      ino: info.ino,
      size: info.size,
      mtimeMs: info.mtimeMs,
      headTailSha256: hash.digest('hex'),
    };
  } finally {
    await handle.close();
  }
}
