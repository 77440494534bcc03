import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, silentLogger } from '@conform/bus';
import { FolderWatch, WatchBudgetExceeded } from '../src/folder-watch.js';

let base: string;
before(async () => {
  base = await mkdtemp(join(tmpdir(), 'conform-folder-watch-'));
});
after(async () => {
  await rm(base, { recursive: true, force: true });
});

/** `folders` folders below a fresh root, each with one file. */
async function tree(name: string, folders: number): Promise<string> {
  const root = join(base, name);
  for (let f = 0; f < folders; f++) {
    await mkdir(join(root, `F${f}`), { recursive: true });
    await writeFile(join(root, `F${f}`, 'a.mkv'), String(f));
  }
  return root;
}

function recorder() {
  const files: string[] = [];
  const gone: string[] = [];
  return {
    files,
    gone,
    handlers: {
      file: (p: string) => void files.push(p),
      folderGone: (d: string) => void gone.push(d),
      skipFolder: (d: string) => d.split('/').pop()!.startsWith('.'),
    },
  };
}

describe('folder watch', () => {
  it('holds one watch per folder, skips hidden ones, and releases them when a folder goes', async () => {
    const root = await tree('release', 3);
    await mkdir(join(root, '.hidden'), { recursive: true });
    await writeFile(join(root, '.hidden', 'x.mkv'), 'x');
    const budget = { remaining: 100 };
    const r = recorder();
    const w = new FolderWatch(root, budget, r.handlers, silentLogger());
    await w.start();
    try {
      assert.equal(w.size, 4); // the root and F0..F2, not .hidden
      assert.equal(budget.remaining, 96);
      assert.deepEqual(
        r.files.sort(),
        [0, 1, 2].map((f) => join(root, `F${f}`, 'a.mkv')),
      );
      await rm(join(root, 'F1'), { recursive: true });
      await eventually(async () => r.gone.includes(join(root, 'F1')) || null, {
        timeoutMs: 10_000,
        what: 'F1 reported gone',
      });
      assert.equal(w.size, 3);
      assert.equal(budget.remaining, 97);
    } finally {
      w.close();
    }
    assert.equal(budget.remaining, 100, 'closing gives every watch back');
  });

  it('fails its start when the tree has more folders than the budget, holding no watch', async () => {
    const root = await tree('too-many', 4);
    const budget = { remaining: 3 };
    const w = new FolderWatch(root, budget, recorder().handlers, silentLogger());
    await assert.rejects(w.start(), (err: unknown) => {
      assert.ok(err instanceof WatchBudgetExceeded);
      assert.equal(err.code, 'WATCH_BUDGET_EXCEEDED');
      assert.equal(err.root, root);
      return true;
    });
    assert.equal(w.size, 0);
    assert.equal(budget.remaining, 3);
  });

  it('waits for room before listing the next folder (a bounded buffer for huge libraries)', async () => {
    const root = await tree('room', 4);
    const r = recorder();
    let open = false;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let asked = 0;
    const w = new FolderWatch(
      root,
      { remaining: 100 },
      {
        ...r.handlers,
        // Room for the root and one more folder, then none until released.
        room: () => (++asked > 2 && !open ? gate : undefined),
      },
      silentLogger(),
    );
    const started = w.start();
    await eventually(async () => (asked > 2 ? true : null), {
      timeoutMs: 10_000,
      what: 'the walk asking for room a third time',
    });
    assert.equal(r.files.length, 1, 'only the folder listed before the gate was reported');
    open = true;
    release();
    await started;
    try {
      assert.equal(r.files.length, 4);
    } finally {
      w.close();
    }
  });
});
