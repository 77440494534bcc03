import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import {
  CALLER_ARENAS_VARIABLE,
  heapFlag,
  HEAP_GROWING_PERCENT,
  restoreCallerArenas,
} from '../src/heap-settings.js';

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
  it('starts Node with conform’s young generation and two malloc arenas when run as a program (its #! line), and gives its children the caller’s arenas', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conform-shebang-'));
    try {
      // Loaded before bin.js runs; when it exits (after --version), says which flags this Node
      // got, the arenas it started with (its initial environment) and what a child is given.
      const probe = join(dir, 'flags.cjs');
      await writeFile(
        probe,
        [
          "const { readFileSync } = require('node:fs');",
          "const { execFileSync } = require('node:child_process');",
          "process.on('exit', () => {",
          "  const own = readFileSync('/proc/self/environ', 'utf8').split('\\0')",
          "    .find((v) => v.startsWith('MALLOC_ARENA_MAX='))?.slice(17) ?? null;",
          "  const child = execFileSync('/bin/sh', ['-c', 'echo \"${MALLOC_ARENA_MAX-unset}\"'], { encoding: 'utf8' }).trim();",
          "  process.stdout.write('\\n' + JSON.stringify([process.execArgv, own, child]));",
          '});',
          '',
        ].join('\n'),
      );
      const bin = join(import.meta.dirname, '../src/bin.js');
      const run = async (callerArenas: string) => {
        const { stdout } = await promisify(execFile)(bin, ['--version'], {
          env: {
            ...process.env,
            MALLOC_ARENA_MAX: callerArenas,
            NODE_OPTIONS: `--require ${probe}`,
          },
        });
        return JSON.parse(stdout.trim().split('\n').at(-1)!) as unknown;
      };
      assert.deepEqual(await run(''), [['--max-semi-space-size=8'], '2', 'unset']);
      assert.deepEqual(await run('4'), [['--max-semi-space-size=8'], '2', '4']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the caller’s malloc arenas', () => {
  it('go back to conform’s children when the #! line recorded them, and nothing changes otherwise', () => {
    const recorded = { [CALLER_ARENAS_VARIABLE]: '8', MALLOC_ARENA_MAX: '2', PATH: '/bin' };
    restoreCallerArenas(recorded);
    assert.deepEqual(recorded, { MALLOC_ARENA_MAX: '8', PATH: '/bin' });
    const unset = { [CALLER_ARENAS_VARIABLE]: '', MALLOC_ARENA_MAX: '2' };
    restoreCallerArenas(unset);
    assert.deepEqual(unset, {});
    const other = { MALLOC_ARENA_MAX: '3' };
    restoreCallerArenas(other);
    assert.deepEqual(other, { MALLOC_ARENA_MAX: '3' });
  });
});
