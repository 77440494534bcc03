import { createHash } from 'node:crypto';
import { close, fstat, open, read } from 'node:fs';
import { promisify } from 'node:util';
import type { FileFingerprint } from '@conform/contracts';

const MIB = 1024 * 1024;

// Plain descriptors rather than fs/promises FileHandles: a first scan fingerprints every file,
// and a FileHandle (an object with a finalizer per open file) cost more than the reads of a
// small file.
const openFd = promisify(open);
const fstatFd = promisify(fstat);
const readFd = promisify(read);
const closeFd = promisify(close);

/**
 * Device, inode, size, mtime and a sha256 of the first and last MiB: enough to recognise a
 * renamed or moved file without reading all of it.
 */
export async function fingerprintFile(path: string): Promise<FileFingerprint> {
  const fd = await openFd(path, 'r');
  try {
    const info = await fstatFd(fd);
    const hash = createHash('sha256');
    const head = Buffer.allocUnsafe(Math.min(MIB, info.size));
    const got = await readFully(fd, head, 0);
    hash.update(head.subarray(0, got));
    if (info.size > MIB) {
      const tailLength = Math.min(MIB, info.size - MIB);
      const tail = Buffer.allocUnsafe(tailLength);
      hash.update(tail.subarray(0, await readFully(fd, tail, info.size - tailLength)));
    }
    return {
      dev: info.dev,
      ino: info.ino,
      size: info.size,
      mtimeMs: info.mtimeMs,
      headTailSha256: hash.digest('hex'),
    };
  } finally {
    await closeFd(fd);
  }
}

/** Reads into `buffer` from `position` until it is full or the file ends; the bytes read. */
async function readFully(fd: number, buffer: Buffer, position: number): Promise<number> {
  let done = 0;
  while (done < buffer.length) {
    const { bytesRead } = await readFd(fd, buffer, done, buffer.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}
