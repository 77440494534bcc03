import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { heapFlag, HEAP_GROWING_PERCENT } from '../src/heap-settings.js';

describe('heap settings conform chooses for itself', () => {
  it('sets the heap growing factor unless the user set one', () => {
    assert.equal(heapFlag([], undefined), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    assert.equal(
      heapFlag([], '--max-old-space-size=512'),
      `--heap-growing-percent=${HEAP_GROWING_PERCENT}`,
    );
    assert.equal(heapFlag(['--heap-growing-percent=10'], undefined), null);
    assert.equal(heapFlag([], '--enable-source-maps --heap_growing_percent=80'), null);
  });

  it('is the first import of the binary, so it applies before anything allocates', () => {
    const bin = readFileSync(join(import.meta.dirname, '../../src/bin.ts'), 'utf8');
    const firstImport = bin.split('\n').find((l) => l.startsWith('import '));
    assert.equal(firstImport, "import './heap-settings.js';");
  });
});

describe('the conform program', () => {
  it('starts Node with conform’s young generation and two malloc arenas when run as a program (its #! line)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conform-shebang-'));
    try {
      // Loaded before bin.js runs: says which flags this Node got, and stops it there.
      const probe = join(dir, 'flags.cjs');
      await writeFile(
        probe,
        'process.stdout.write(JSON.stringify([process.execArgv, process.env.MALLOC_ARENA_MAX ?? null])); process.exit(0);\n',
      );
      const bin = join(import.meta.dirname, '../src/bin.js');
      const { stdout } = await promisify(execFile)(bin, ['--version'], {
        env: { ...process.env, MALLOC_ARENA_MAX: '', NODE_OPTIONS: `--require ${probe}` },
      });
      assert.deepEqual(JSON.parse(stdout), [['--max-semi-space-size=8'], '2']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
