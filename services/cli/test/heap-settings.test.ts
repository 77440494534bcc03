import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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
