import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { wrap, type FileReplacedData } from '@conform/contracts';
import {
  KEPT_DIR_NAME,
  PARTIAL_SUFFIX,
  REPLACEMENTS_DIR_NAME,
  deleteExpiredOriginal,
  expiredOriginals,
  realFs,
  restoreOriginal,
  swapVerifiedOutput,
  type ArchiverLibrary,
  type SwapFs,
} from '../src/index.js';
import { bytesAt, makeSwap, ORIGINAL, OUTPUT } from './fixtures.js';
import { makeReadOnly, mountTmpfs } from './mounts.js';

let base: string;
before(async () => {
  base = await mkdtemp(join(tmpdir(), 'conform-restore-'));
});
after(async () => rm(base, { recursive: true, force: true }));

let n = 0;
async function setup(opts: { originals?: ArchiverLibrary['originals']; archive?: string } = {}) {
  const dir = join(base, `case-${++n}`);
  const library = join(dir, 'library');
  const archive = opts.archive ?? join(dir, 'archive');
  await mkdir(library, { recursive: true });
  const libraries: ArchiverLibrary[] = [{ root: library, archive, originals: opts.originals }];
  return { dir, library, archive, libraries };
}

async function swapped(container: 'mkv' | 'mp4', opts: Parameters<typeof setup>[0] = {}) {
  const s = await setup(opts);
  const f = await makeSwap({
    library: s.library,
    archive: s.archive,
    relativePath: 'Film (2020)/Film.mkv',
    container,
  });
  const result = await swapVerifiedOutput(f.event, s.libraries);
  assert.equal(result.type, 'file.replaced', JSON.stringify(result.data));
  return { ...s, f, replaced: result.data as FileReplacedData };
}

class SimulatedCrash extends Error {}
function crashingFs(at: number): SwapFs {
  let calls = 0;
  const wrapped: Record<string, unknown> = { ...realFs };
  for (const name of ['mkdir', 'link', 'copyFile', 'utimes', 'rename', 'unlink'] as const) {
    const real = realFs[name] as (...args: unknown[]) => Promise<unknown>;
    wrapped[name] = async (...args: unknown[]) => {
      if (++calls === at) throw new SimulatedCrash(`crash before ${name} #${at}`);
      return real(...args);
    };
  }
  return wrapped as unknown as SwapFs;
}

describe('restore on the real filesystem', () => {
  it('puts the original back over a same-named replacement and archives the replacement', async () => {
    const s = await swapped('mkv');
    const first = await restoreOriginal(s.replaced, 'f1', s.libraries);
    assert.equal(first.type, 'file.restored', JSON.stringify(first.data));
    assert.deepEqual(await bytesAt(s.f.path), ORIGINAL);
    const replacementArchive = join(s.archive, REPLACEMENTS_DIR_NAME, 'Film (2020)/Film.mkv');
    assert.deepEqual(await bytesAt(replacementArchive), OUTPUT);
    assert.deepEqual(
      await bytesAt(s.f.archivePath),
      ORIGINAL,
      'the archive keeps the original too',
    );
    const second = await restoreOriginal(s.replaced, 'f1', s.libraries);
    assert.deepEqual(second, first, 'a redelivered restore finds it done');
  });

  it('with an extension change, removes the replacement once the original is back', async () => {
    const s = await swapped('mp4');
    assert.notEqual(s.replaced.newPath, s.replaced.path);
    const result = await restoreOriginal(s.replaced, 'f2', s.libraries);
    assert.equal(result.type, 'file.restored');
    assert.deepEqual(await bytesAt(s.f.path), ORIGINAL);
    assert.equal(await bytesAt(s.replaced.newPath), null);
  });

  it('survives a crash before every filesystem call and never leaves the path empty', async () => {
    for (const container of ['mkv', 'mp4'] as const) {
      for (let at = 1; at <= 12; at++) {
        const s = await swapped(container);
        const crashed = await restoreOriginal(s.replaced, 'fc', s.libraries, crashingFs(at)).catch(
          (err: unknown) => err,
        );
        const atPath = await bytesAt(s.f.path);
        const atNew = await bytesAt(s.replaced.newPath);
        const present = [atPath, atNew].some((b) => b?.equals(ORIGINAL) || b?.equals(OUTPUT));
        assert.ok(
          present,
          `${container} crash #${at}: neither the original nor the replacement is in place`,
        );
        assert.ok(
          atPath === null || atPath.equals(ORIGINAL) || atPath.equals(OUTPUT),
          `partial at #${at}`,
        );
        const done = await restoreOriginal(s.replaced, 'fc', s.libraries);
        assert.equal(
          done.type,
          'file.restored',
          `after crash #${at}: ${JSON.stringify(done.data)}`,
        );
        assert.deepEqual(await bytesAt(s.f.path), ORIGINAL, `after crash #${at}`);
        if (!(crashed instanceof SimulatedCrash)) break; // the run completed before call #at
      }
    }
  });

  it('refuses with restore.failed when the archive lost the original', async () => {
    const s = await swapped('mkv');
    await rm(s.f.archivePath);
    const result = await restoreOriginal(s.replaced, 'f3', s.libraries);
    assert.equal(result.type, 'restore.failed');
    assert.match(JSON.stringify(result.data), /holds no original/);
    assert.deepEqual(await bytesAt(s.f.path), OUTPUT, 'the replacement stays');
  });
});

describe('originals policy', () => {
  it('keep: the original stays next to the new file in a hidden folder', async () => {
    const s = await swapped('mkv', { originals: 'keep' });
    const kept = join(dirname(s.f.path), KEPT_DIR_NAME, basename(s.f.path));
    assert.equal(s.replaced.archivePath, kept);
    assert.deepEqual(await bytesAt(kept), ORIGINAL);
    assert.deepEqual(await bytesAt(s.f.path), OUTPUT);
    assert.deepEqual(await readdir(s.archive).catch(() => []), [], 'nothing in the archive');
  });

  it('deleteAfterDays: only originals past retention, not restored since, in opted-in libraries', () => {
    const libs: ArchiverLibrary[] = [
      { root: '/lib/a', archive: '/arc/a', originals: { deleteAfterDays: 30 } },
      { root: '/lib/b', archive: '/arc/b' },
    ];
    const replacedAt = (library: string, fileId: string, time: string) => {
      const data: FileReplacedData = {
        library,
        path: `${library}/x.mkv`,
        newPath: `${library}/x.mkv`,
        archivePath: `/arc/x.mkv`,
        originalSize: 10,
        newSize: 5,
        bytesSaved: 5,
      };
      return wrap({ type: 'file.replaced', data }, { fileId, producer: 't', time: new Date(time) });
    };
    const now = Date.parse('2026-03-01T00:00:00Z');
    const events = [
      { seq: 1, event: replacedAt('/lib/a', 'old', '2026-01-01T00:00:00Z') },
      { seq: 2, event: replacedAt('/lib/a', 'young', '2026-02-20T00:00:00Z') },
      { seq: 3, event: replacedAt('/lib/b', 'optout', '2025-01-01T00:00:00Z') },
      { seq: 4, event: replacedAt('/lib/a', 'restored', '2026-01-01T00:00:00Z') },
    ];
    const expired = expiredOriginals(events, new Map([['restored', 9]]), libs, now);
    assert.deepEqual(
      expired.map((e) => [e.replaced.fileId, e.retentionDays]),
      [['old', 30]],
    );
  });

  it('deleteAfterDays: deletes the archived original only while the replacement stands', async () => {
    const s = await swapped('mkv', { originals: { deleteAfterDays: 1 } });
    const replaced = wrap(
      { type: 'file.replaced', data: s.replaced },
      { fileId: 'r', producer: 't', time: new Date(0) },
    );
    await rm(s.f.path);
    assert.equal(await deleteExpiredOriginal({ replaced, retentionDays: 1 }), null);
    assert.deepEqual(await bytesAt(s.f.archivePath), ORIGINAL, 'kept: the replacement is gone');
    await writeFile(s.f.path, OUTPUT);
    const event = await deleteExpiredOriginal({ replaced, retentionDays: 1 });
    assert.equal(event?.type, 'original.deleted');
    assert.equal(event?.data.size, ORIGINAL.length);
    assert.equal(await bytesAt(s.f.archivePath), null);
  });
});

describe('real filesystems', () => {
  it('archives across filesystems (a tmpfs archive) byte-identical, and restores back across', async () => {
    const s0 = await setup();
    const unmount = await mountTmpfs(s0.archive, '4m');
    try {
      const [a, b] = await Promise.all([stat(s0.archive), stat(s0.library)]);
      assert.notEqual(a.dev, b.dev, 'the archive really is another filesystem');
      const f = await makeSwap({
        library: s0.library,
        archive: s0.archive,
        relativePath: 'x/Film.mkv',
        container: 'mkv',
      });
      const before = await stat(f.path);
      const result = await swapVerifiedOutput(f.event, s0.libraries);
      assert.equal(result.type, 'file.replaced', JSON.stringify(result.data));
      assert.deepEqual(await bytesAt(f.archivePath), ORIGINAL);
      assert.ok(
        Math.abs((await stat(f.archivePath)).mtimeMs - before.mtimeMs) < 0.01,
        'the archive keeps the mtime',
      );
      assert.deepEqual(await bytesAt(f.path), OUTPUT);
      const restored = await restoreOriginal(result.data as FileReplacedData, 'x', s0.libraries);
      assert.equal(restored.type, 'file.restored');
      assert.deepEqual(await bytesAt(f.path), ORIGINAL);
    } finally {
      unmount();
    }
  });

  it('a full archive disk keeps the original in place, leaves no partial, and fails for good', async () => {
    const s0 = await setup();
    const unmount = await mountTmpfs(s0.archive, '16k');
    try {
      const f = await makeSwap({
        library: s0.library,
        archive: s0.archive,
        relativePath: 'x/Big.mkv',
        container: 'mkv',
      });
      const result = await swapVerifiedOutput(f.event, s0.libraries);
      assert.equal(result.type, 'replace.failed');
      assert.ok(result.type === 'replace.failed' && result.data.permanent);
      assert.match(result.data.reason, /no space left.*\(ENOSPC\)/i);
      assert.deepEqual(await bytesAt(f.path), ORIGINAL);
      assert.deepEqual(
        await bytesAt(f.outputPath),
        OUTPUT,
        'the verified output waits for a retry',
      );
      assert.equal(await bytesAt(f.archivePath), null);
      assert.equal(await bytesAt(f.archivePath + PARTIAL_SUFFIX), null, 'no partial archive copy');
    } finally {
      unmount();
    }
  });

  it('a read-only library keeps the original and the output, with the reason', async () => {
    const s0 = await setup();
    const f = await makeSwap({
      library: s0.library,
      archive: s0.archive,
      relativePath: 'ro/Film.mkv',
      container: 'mkv',
    });
    const restoreWrites = await makeReadOnly(s0.library);
    try {
      const result = await swapVerifiedOutput(f.event, s0.libraries);
      assert.equal(result.type, 'replace.failed');
      assert.ok(result.type === 'replace.failed' && result.data.permanent);
      assert.match(result.data.reason, /read-only.*\(EROFS\)|permission denied.*\(EACCES\)/);
      assert.deepEqual(await bytesAt(f.path), ORIGINAL);
      assert.deepEqual(await bytesAt(f.outputPath), OUTPUT);
    } finally {
      restoreWrites();
    }
    const after = await swapVerifiedOutput(f.event, s0.libraries);
    assert.equal(after.type, 'file.replaced', 'once writable again, a retry finishes the swap');
  });
});
