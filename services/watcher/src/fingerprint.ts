import { createHash, type Hash } from 'node:crypto';
import { close, fstat, open, read } from 'node:fs';
import type { FileFingerprint } from '@conform/contracts';

const MIB = 1024 * 1024;
// Reads of the head and tail go through one buffer of at most this size per file in flight:
// 32 large files fingerprinted at once then hold 2 MiB of buffers, not 64 MiB.
const CHUNK = 64 * 1024;

/**
 * Device, inode, size, mtime and a sha256 of the first and last MiB: enough to recognise a
 * renamed or moved file without reading all of it.
 *
 * Plain descriptors and callbacks, one promise per file: a first scan fingerprints every file,
 * and a FileHandle (an object with a finalizer per open file), or a promise per open, fstat,
 * read and close, cost more than the reads of a small file.
 */
export function fingerprintFile(path: string): Promise<FileFingerprint> {
  return new Promise((resolve, reject) => {
    open(path, 'r', (err, fd) => {
      if (err) return reject(err);
      const done = (failure: Error | null, value?: FileFingerprint) =>
        close(fd, (closeErr) => {
          if (failure ?? closeErr) reject(failure ?? closeErr);
          else resolve(value!);
        });
      fstat(fd, (statErr, info) => {
        if (statErr) return done(statErr);
        const hash = createHash('sha256');
        const headEnd = Math.min(MIB, info.size);
        const tailStart = info.size > MIB ? Math.max(MIB, info.size - MIB) : info.size;
        const buffer = Buffer.allocUnsafe(
          Math.max(1, Math.min(CHUNK, Math.max(headEnd, info.size - tailStart))),
        );
        const finish = (readErr: Error | null) =>
          readErr
            ? done(readErr)
            : done(null, {
                dev: info.dev,
                ino: info.ino,
                size: info.size,
                mtimeMs: info.mtimeMs,
                headTailSha256: hash.digest('hex'),
              });
        hashRange(fd, buffer, hash, 0, headEnd, (headErr) => {
          if (headErr || tailStart >= info.size) return finish(headErr);
          hashRange(fd, buffer, hash, tailStart, info.size, finish);
        });
      });
    });
  });
}

/** Hashes the bytes from `from` to `to` (or to the end of the file, if it is shorter now). */
function hashRange(
  fd: number,
  buffer: Buffer,
  hash: Hash,
  from: number,
  to: number,
  then: (err: Error | null) => void,
): void {
  if (from >= to) return then(null);
  read(fd, buffer, 0, Math.min(buffer.length, to - from), from, (err, bytesRead) => {
    if (err) return then(err);
    if (bytesRead === 0) return then(null);
    hash.update(buffer.subarray(0, bytesRead));
    hashRange(fd, buffer, hash, from + bytesRead, to, then);
  });
}
