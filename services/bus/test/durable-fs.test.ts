import assert from 'node:assert/strict';
import * as nodeFs from 'node:fs/promises';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { durableRename, type DurableFs } from '../src/index.js';

/** The real filesystem, recording which path each open (for fsync) and rename touched. */
function recordingFs(calls: string[]): DurableFs {
  return {
    open: (async (path: string, flags?: string) => {
      calls.push(`sync ${path}`);
      return nodeFs.open(path, flags);
    }) as DurableFs['open'],
    rename: async (from, to) => {
      calls.push(`rename ${String(from)} -> ${String(to)}`);
      return nodeFs.rename(from, to);
    },
  };
}

describe('durableRename', () => {
  it('fsyncs the file, renames it over the target, then fsyncs the target folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conform-durable-'));
    try {
      const from = join(dir, 'out.mkv.partial');
      const to = join(dir, 'out.mkv');
      await writeFile(from, 'new');
      await writeFile(to, 'old');
      const calls: string[] = [];
      await durableRename(from, to, recordingFs(calls));
      assert.deepEqual(calls, [`sync ${from}`, `rename ${from} -> ${to}`, `sync ${dir}`]);
      assert.equal(await readFile(to, 'utf8'), 'new');
      await assert.rejects(readFile(from), { code: 'ENOENT' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('renames nothing when the file cannot be opened for its fsync', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conform-durable-'));
    try {
      const to = join(dir, 'out.mkv');
      await writeFile(to, 'old');
      const calls: string[] = [];
      await assert.rejects(durableRename(join(dir, 'missing'), to, recordingFs(calls)), {
        code: 'ENOENT',
      });
      assert.equal(calls.filter((c) => c.startsWith('rename')).length, 0);
      assert.equal(await readFile(to, 'utf8'), 'old');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
