import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PathMap, SelfCheckError, planSelfCheck, runSelfCheck } from '../src/index.js';

const WORK = '.conform-work';

describe('planSelfCheck', () => {
  const libraries = [{ root: '/media/movies', archive: '/archive/movies' }];
  const map = PathMap.parse(['/media=/mnt/media']);

  it('checks what each role touches, in this node’s paths', () => {
    const kinds = (role: 'encoder' | 'verifier' | 'archiver') =>
      planSelfCheck({ role, libraries, map, workDirName: WORK, minFreeBytes: 1 }).map(
        (s) => `${s.kind}:${s.kind === 'atomic-rename' ? s.workDir : s.path}`,
      );
    assert.deepEqual(kinds('verifier'), ['readable-dir:/mnt/media/movies']);
    assert.deepEqual(kinds('encoder'), [
      'readable-dir:/mnt/media/movies',
      'writable-dir:/mnt/media/movies',
      'atomic-rename:/mnt/media/movies/.conform-work',
      'free-space:/mnt/media/movies',
    ]);
    assert.deepEqual(kinds('archiver').slice(-1), ['writable-dir:/archive/movies']);
  });
});

describe('runSelfCheck on real directories', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'conform-selfcheck-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  const check = (
    lib: string,
    opts: { map?: PathMap; archive?: string; minFreeBytes?: number } = {},
  ) =>
    runSelfCheck(
      planSelfCheck({
        role: 'archiver',
        libraries: [{ root: lib, archive: opts.archive }],
        map: opts.map,
        workDirName: WORK,
        minFreeBytes: opts.minFreeBytes ?? 1,
      }),
      { map: opts.map, node: 'test@host' },
    );

  it('passes on a usable library and leaves nothing behind', async () => {
    const lib = join(root, 'ok');
    await mkdir(lib);
    await check(lib, { archive: join(root, 'ok-archive') });
    assert.deepEqual(await readdir(lib), [WORK]);
    assert.deepEqual(await readdir(join(lib, WORK)), []);
    assert.ok((await stat(join(root, 'ok-archive'))).isDirectory(), 'archive created');
  });

  it('names the canonical path, the local one and the mapping of an unreachable library', async () => {
    const map = PathMap.parse([`/media=${join(root, 'not-mounted')}`]);
    await assert.rejects(check('/media/movies', { map }), (err: Error) => {
      assert.ok(err instanceof SelfCheckError);
      assert.equal(err.path, join(root, 'not-mounted', 'movies'));
      assert.equal(err.mapping, `/media=${join(root, 'not-mounted')}`);
      assert.match(
        err.message,
        /start-up check failed for \/media\/movies \(seen here as .*not-mounted\/movies through --path-map \/media=.*\): not reachable \(ENOENT\); is it mounted\?; this node pulls no work/,
      );
      return true;
    });
  });

  it('fails when the work directory cannot be created', async () => {
    const lib = join(root, 'blocked');
    await mkdir(lib);
    await writeFile(join(lib, WORK), 'a file where the work directory goes');
    await assert.rejects(
      check(lib),
      /blocked\/\.conform-work: cannot create the work directory \(EEXIST|ENOTDIR/,
    );
  });

  it('fails when the work directory is on another filesystem than the library', async () => {
    const lib = join(root, 'split');
    await mkdir(lib);
    const elsewhere = await mkdtemp(join('/dev/shm', 'conform-selfcheck-'));
    try {
      assert.notEqual(
        (await stat(elsewhere)).dev,
        (await stat(lib)).dev,
        '/dev/shm is another filesystem',
      );
      await symlink(elsewhere, join(lib, WORK));
      await assert.rejects(check(lib), /on another filesystem than the library .*\(EXDEV\)/);
      assert.deepEqual(await readdir(elsewhere), [], 'the probe file is removed');
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('fails when too little space is free', async () => {
    const lib = join(root, 'full');
    await mkdir(lib);
    await assert.rejects(
      check(lib, { minFreeBytes: Number.MAX_SAFE_INTEGER }),
      /full: only \d+ bytes free, at least \d+ needed to start/,
    );
  });
});
