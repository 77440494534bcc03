import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { observePath, observePathSync } from '../src/library-fs.js';

let base: string;
before(async () => {
  base = await mkdtemp(join(tmpdir(), 'conform-observe-'));
});
after(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('observePathSync', () => {
  it('sees what observePath sees: a file, a symlink, a folder, nothing, a file reached through a symlinked folder, a path outside', async () => {
    const root = join(base, 'library');
    const outside = join(base, 'outside');
    await mkdir(join(root, 'Show'), { recursive: true });
    await mkdir(outside);
    await writeFile(join(root, 'Show', 'e1.mkv'), 'x'.repeat(10));
    await writeFile(join(outside, 'secret.mkv'), 's');
    await symlink(join(outside, 'secret.mkv'), join(root, 'link.mkv'));
    await symlink(outside, join(root, 'Linked'));
    const library = { root, realRoot: await realpath(root) };
    const cases = {
      file: join(root, 'Show', 'e1.mkv'),
      symlink: join(root, 'link.mkv'),
      folder: join(root, 'Show'),
      gone: join(root, 'Show', 'none.mkv'),
      'not a folder': join(root, 'Show', 'e1.mkv', 'x.mkv'),
      'through a symlinked folder': join(root, 'Linked', 'secret.mkv'),
      outside: join(outside, 'secret.mkv'),
    };
    const kinds: Record<string, string> = {};
    for (const [name, path] of Object.entries(cases)) {
      const sync = observePathSync(library, path, new Map());
      assert.deepEqual(sync, await observePath(library, path, new Map()), name);
      kinds[name] = sync.kind === 'skipped' ? sync.reason : sync.kind;
    }
    assert.deepEqual(kinds, {
      file: 'file',
      symlink: 'a symbolic link',
      folder: 'not a regular file',
      gone: 'gone',
      'not a folder': 'gone',
      'through a symlinked folder': 'reached through a symbolic link',
      outside: 'outside the library',
    });
  });
});
