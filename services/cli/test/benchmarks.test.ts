import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';

// The benchmark registry that scripts/bench.mjs runs (and that writes docs/benchmarks/README.md)
// must point at scripts that exist, print the BENCH_RESULT lines it collects, and are documented:
// a renamed or forgotten benchmark would otherwise drop out of the table unnoticed.
const root = resolve(import.meta.dirname, '../../../..');
interface Benchmark {
  name: string;
  argv: string[];
  quick: string[];
  doc: string;
}
const { BENCHMARKS, QUIET_LOAD, waitForQuiet } = (await import(
  pathToFileURL(join(root, 'scripts/benchmarks.mjs')).href
)) as {
  BENCHMARKS: Benchmark[];
  QUIET_LOAD: number;
  waitForQuiet(opts: {
    load: () => number;
    sleep?: (ms: number) => Promise<void>;
    maxMs?: number;
    everyMs?: number;
  }): Promise<{ waitedMs: number; load: number }>;
};

const benchFiles = [
  'projections',
  ...readdirSync(join(root, 'services')).map((s) => `services/${s}`),
]
  .map((dir) => `${dir}/bench`)
  .filter((dir) => existsSync(join(root, dir)))
  .flatMap((dir) => readdirSync(join(root, dir)).map((f) => `${dir}/${f}`))
  .filter((f) => f.endsWith('.mjs'));
const source = (f: string) => readFileSync(join(root, f), 'utf8');
const localImports = (f: string) =>
  [...source(f).matchAll(/from '(\.\/[\w.-]+\.mjs)'/g)].map((m) => join(dirname(f), m[1]!));
/** Modules other bench scripts import (shared event builders, result printers): not benchmarks. */
const helpers = new Set(benchFiles.flatMap(localImports));
/** Whether a script prints BENCH_RESULT lines itself or through a helper it imports. */
const printsResults = (f: string) =>
  [f, ...localImports(f)].some((g) => existsSync(join(root, g)) && /BENCH_RESULT/.test(source(g)));

describe('benchmark registry (scripts/benchmarks.mjs)', () => {
  it('names each benchmark once', () => {
    const names = BENCHMARKS.map((b) => b.name);
    assert.deepEqual([...new Set(names)], names);
  });

  for (const b of BENCHMARKS) {
    it(`${b.name}: the script exists, prints BENCH_RESULT and has its document`, () => {
      assert.equal(b.argv[0], b.quick[0], 'the quick run is the same script');
      assert.ok(existsSync(join(root, b.argv[0]!)), `${b.argv[0]} exists`);
      assert.ok(printsResults(b.argv[0]!), `${b.argv[0]} prints BENCH_RESULT`);
      assert.ok(existsSync(join(root, 'docs/benchmarks', b.doc)), `docs/benchmarks/${b.doc}`);
    });
  }

  it('every benchmark script that prints BENCH_RESULT is registered', () => {
    const registered = new Set(BENCHMARKS.map((b) => b.argv[0]));
    const unregistered = benchFiles.filter(
      (f) => !helpers.has(f) && printsResults(f) && !registered.has(f),
    );
    assert.deepEqual(unregistered, [], 'add these to scripts/benchmarks.mjs');
  });
});

describe('bench.mjs waits for a quiet machine before each benchmark', () => {
  const noSleep = async () => undefined;

  it('waits while the load is at or above the quiet level, and no longer', async () => {
    const loads = [3.9, 2.1, QUIET_LOAD, 0.6, 0.2];
    const got = await waitForQuiet({ load: () => loads.shift()!, sleep: noSleep, everyMs: 5_000 });
    assert.deepEqual(got, { waitedMs: 15_000, load: 0.6 });
    assert.deepEqual(loads, [0.2], 'stopped checking once quiet');
  });

  it('does not wait on a quiet machine', async () => {
    assert.deepEqual(await waitForQuiet({ load: () => 0.3, sleep: noSleep }), {
      waitedMs: 0,
      load: 0.3,
    });
  });

  it('gives up after maxMs on a machine that stays busy', async () => {
    const got = await waitForQuiet({
      load: () => 5,
      sleep: noSleep,
      maxMs: 20_000,
      everyMs: 5_000,
    });
    assert.deepEqual(got, { waitedMs: 20_000, load: 5 });
  });
});
