import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TransientError } from '@conform/bus';
import { PARTIAL_SUFFIX, realFs, swapVerifiedOutput, type SwapFs } from '../src/index.js';
import { bytesAt, makeSwap, ORIGINAL, OUTPUT, type SwapFixture } from './fixtures.js';

let base: string;
let library: string;
let archive: string;
let libraries: { root: string; archive: string }[];
before(async () => {
  base = await mkdtemp(join(tmpdir(), 'conform-swap-'));
  library = join(base, 'library');
  archive = join(base, 'archive');
  await mkdir(library);
  libraries = [{ root: library, archive }];
});
after(async () => rm(base, { recursive: true, force: true }));

/** A filesystem whose hard links fail as they do across filesystems. */
const crossDeviceFs: SwapFs = {
  ...realFs,
  link: async () => {
    throw Object.assign(new Error('EXDEV: cross-device link not permitted'), { code: 'EXDEV' });
  },
};

class SimulatedCrash extends Error {}

/** `base`, except that the `at`-th call that changes the filesystem dies before it happens. */
function crashingFs(fs: SwapFs, at: number): SwapFs {
  let calls = 0;
  const wrapped: Record<string, unknown> = { ...fs };
  for (const name of ['mkdir', 'link', 'copyFile', 'utimes', 'rename', 'unlink'] as const) {
    const real = fs[name] as (...args: unknown[]) => Promise<unknown>;
    wrapped[name] = async (...args: unknown[]) => {
      if (++calls === at) throw new SimulatedCrash(`crash before ${name} #${at}`);
      return real(...args);
    };
  }
  return wrapped as unknown as SwapFs;
}

/** Invariant 1 at this instant: the original or the output is in place, the archive is whole. */
async function assertNoLossNoPartial(f: SwapFixture, when: string): Promise<void> {
  const atPath = await bytesAt(f.path);
  const atFinal = f.finalPath === f.path ? atPath : await bytesAt(f.finalPath);
  const archived = await bytesAt(f.archivePath);
  const inPlace = atPath?.equals(ORIGINAL) || atPath?.equals(OUTPUT) || atFinal?.equals(OUTPUT);
  assert.ok(inPlace, `${when}: neither the original nor the output is in the library`);
  assert.ok(archived === null || archived.equals(ORIGINAL), `${when}: partial archive`);
  if (!atPath?.equals(ORIGINAL)) {
    assert.ok(archived?.equals(ORIGINAL), `${when}: original left the library unarchived`);
    assert.ok(atFinal?.equals(OUTPUT), `${when}: original gone but output not installed`);
  }
}

async function assertSwapped(f: SwapFixture): Promise<void> {
  assert.deepEqual(await bytesAt(f.finalPath), OUTPUT);
  assert.deepEqual(await bytesAt(f.archivePath), ORIGINAL);
  assert.equal(await bytesAt(f.outputPath), null);
  assert.equal(await bytesAt(f.archivePath + PARTIAL_SUFFIX), null);
  if (f.finalPath !== f.path) assert.equal(await bytesAt(f.path), null);
}

describe('swap on the real filesystem', () => {
  it('running the same swap twice gives the same result and leaves the same files', async () => {
    const f = await makeSwap({ library, archive, relativePath: 'twice/Film.mkv' });
    const first = await swapVerifiedOutput(f.event, libraries);
    await assertSwapped(f);
    const second = await swapVerifiedOutput(f.event, libraries);
    assert.equal(first.type, 'file.replaced');
    assert.deepEqual(second, first);
    await assertSwapped(f);
  });

  it('copies, verifies and renames into place when the archive is on another filesystem', async () => {
    const f = await makeSwap({ library, archive, relativePath: 'exdev/Film.mkv' });
    const originalMtime = (await stat(f.path)).mtimeMs;
    const result = await swapVerifiedOutput(f.event, libraries, crossDeviceFs);
    assert.equal(result.type, 'file.replaced');
    await assertSwapped(f);
    const archived = await stat(f.archivePath);
    assert.notEqual(archived.ino, (await stat(f.path)).ino, 'a copy, not a link');
    assert.ok(
      Math.abs(archived.mtimeMs - originalMtime) < 0.01,
      `the archive keeps the original mtime: ${archived.mtimeMs} vs ${originalMtime}`,
    );
  });

  const crashCases: [string, SwapFs, 'mkv' | 'mp4', string][] = [
    ['hard link', realFs, 'mkv', 'Film.mkv'],
    ['cross-filesystem copy', crossDeviceFs, 'mkv', 'Film.mkv'],
    ['extension change', realFs, 'mkv', 'Film.avi'],
    ['extension change with a copy', crossDeviceFs, 'mp4', 'Film.avi'],
  ];
  for (const [name, fs, container, fileName] of crashCases) {
    it(`survives a crash before every filesystem change (${name})`, async () => {
      let crashPoints = 0;
      for (let at = 1; ; at++) {
        assert.ok(at < 50, 'the swap should finish within 50 filesystem calls');
        const f = await makeSwap({
          library,
          archive,
          relativePath: join(`crash-${name.replaceAll(' ', '-')}-${at}`, fileName),
          container,
        });
        let crashed = false;
        try {
          await swapVerifiedOutput(f.event, libraries, crashingFs(fs, at));
        } catch (err) {
          assert.ok(err instanceof TransientError, String(err));
          assert.ok(err.cause instanceof SimulatedCrash, String(err.cause));
          crashed = true;
        }
        await assertNoLossNoPartial(f, `after a crash before call ${at}`);
        if (!crashed) break;
        crashPoints++;
        const recovered = await swapVerifiedOutput(f.event, libraries, fs);
        assert.equal(recovered.type, 'file.replaced', JSON.stringify(recovered.data));
        assert.equal(recovered.data.path, f.path);
        await assertSwapped(f);
      }
      assert.ok(crashPoints >= 3, `only ${crashPoints} crash points were exercised`);
    });
  }

  it('refuses to write through a symlinked folder that leads out of the library', async () => {
    const outside = join(base, 'outside');
    await mkdir(outside);
    const f = await makeSwap({ library, archive, relativePath: 'escape/Film.mkv' });
    await rm(join(library, 'escape'), { recursive: true });
    await writeFile(join(outside, 'Film.mkv'), ORIGINAL);
    await symlink(outside, join(library, 'escape'));
    const result = await swapVerifiedOutput(f.event, libraries);
    assert.equal(result.type, 'replace.failed');
    assert.match(
      result.type === 'replace.failed' ? result.data.reason : '',
      /leads outside .* symbolic link/,
    );
    assert.deepEqual(await bytesAt(join(outside, 'Film.mkv')), ORIGINAL);
    assert.deepEqual(await bytesAt(f.outputPath), OUTPUT);
    assert.equal(await bytesAt(f.archivePath), null);
  });

  it('refuses to replace a symlink at the library path', async () => {
    const f = await makeSwap({ library, archive, relativePath: 'link/Film.mkv' });
    const target = join(base, 'link-target.mkv');
    await writeFile(target, ORIGINAL);
    await rm(f.path);
    await symlink(target, f.path);
    const result = await swapVerifiedOutput(f.event, libraries);
    assert.equal(result.type, 'replace.failed');
    assert.deepEqual(await bytesAt(target), ORIGINAL);
    assert.deepEqual(await bytesAt(f.outputPath), OUTPUT);
  });

  it('never overwrites a different file at the archive path: the original becomes the next version', async () => {
    const f = await makeSwap({ library, archive, relativePath: 'taken/Film.mkv' });
    await mkdir(join(archive, 'taken'), { recursive: true });
    const other = Buffer.alloc(ORIGINAL.length, 1); // same size, different bytes
    await writeFile(f.archivePath, other);
    const result = await swapVerifiedOutput(f.event, libraries);
    assert.equal(result.type, 'file.replaced', JSON.stringify(result.data));
    assert.equal(result.type === 'file.replaced' && result.data.archivePath, `${f.archivePath}.v2`);
    assert.deepEqual(await bytesAt(f.archivePath), other);
    assert.deepEqual(await bytesAt(`${f.archivePath}.v2`), ORIGINAL);
    assert.deepEqual(await bytesAt(f.path), OUTPUT);
  });
});
