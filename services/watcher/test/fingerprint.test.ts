import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fingerprintFile } from '../src/fingerprint.js';

const MIB = 1024 * 1024;
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conform-fingerprint-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha256 = (...parts: Buffer[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

describe('fingerprint', () => {
  it('hashes the first and the last MiB of a large file, with its stat', async () => {
    const content = randomBytes(3 * MIB + 123);
    const path = join(dir, 'large.mkv');
    await writeFile(path, content);
    const info = await stat(path);
    assert.deepEqual(await fingerprintFile(path), {
      dev: info.dev,
      ino: info.ino,
      size: content.length,
      mtimeMs: info.mtimeMs,
      headTailSha256: sha256(content.subarray(0, MIB), content.subarray(content.length - MIB)),
    });
  });

  it('hashes a small file whole, an empty one as nothing, and the tail of a file just over a MiB once', async () => {
    for (const size of [0, 17, MIB, MIB + 10]) {
      const content = randomBytes(size);
      const path = join(dir, `f${size}.mkv`);
      await writeFile(path, content);
      const tail = size > MIB ? [content.subarray(MIB)] : [];
      assert.equal(
        (await fingerprintFile(path)).headTailSha256,
        sha256(content.subarray(0, MIB), ...tail),
        `size ${size}`,
      );
    }
  });

  it('rejects with the error code for a missing file', async () => {
    await assert.rejects(fingerprintFile(join(dir, 'missing.mkv')), { code: 'ENOENT' });
  });
});
