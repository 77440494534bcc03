import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { probeLimit } from '../src/index.js';

/** A probe that runs until released, recording how many run at once. */
function probes() {
  let running = 0;
  let peak = 0;
  const started: number[] = [];
  const release: (() => void)[] = [];
  const probe = (id: number) => async () => {
    running++;
    peak = Math.max(peak, running);
    started.push(id);
    await new Promise<void>((resolve) => release.push(resolve));
    running--;
    return id;
  };
  return { probe, started, release, peak: () => peak };
}

/** Lets every pending promise callback run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('probeLimit', () => {
  it('runs at most n probes at once, in arrival order', async () => {
    const limit = probeLimit(2);
    const p = probes();
    const all = [1, 2, 3, 4, 5].map((id) => limit(p.probe(id)));
    await settle();
    assert.deepEqual(p.started, [1, 2]);
    while (p.started.length < 5 || p.release.length > 0) {
      p.release.shift()?.();
      await settle();
    }
    assert.deepEqual(await Promise.all(all), [1, 2, 3, 4, 5]);
    assert.deepEqual(p.started, [1, 2, 3, 4, 5]);
    assert.equal(p.peak(), 2);
  });

  it('holds to the gate’s slots until it opens, then to n', async () => {
    let open = () => {};
    const until = new Promise<void>((resolve) => (open = resolve));
    const limit = probeLimit(3, { until, slots: 1 });
    const p = probes();
    const all = [1, 2, 3, 4, 5].map((id) => limit(p.probe(id)));
    await settle();
    assert.deepEqual(p.started, [1], 'one probe while the scan runs');
    p.release.shift()!();
    await settle();
    assert.deepEqual(p.started, [1, 2], 'a finished probe hands its slot on, still one at once');
    open();
    await settle();
    assert.deepEqual(p.started, [1, 2, 3, 4], 'the gate opened: n at once');
    while (p.release.length > 0) {
      p.release.shift()!();
      await settle();
    }
    assert.deepEqual(await Promise.all(all), [1, 2, 3, 4, 5]);
    assert.equal(p.peak(), 3);
  });

  it('with no slots runs nothing until the gate opens, and opens on a failed gate', async () => {
    let fail = (_: Error) => {};
    const until = new Promise<void>((_, reject) => (fail = reject));
    const limit = probeLimit(2, { until, slots: 0 });
    const p = probes();
    const all = [1, 2].map((id) => limit(p.probe(id)));
    await settle();
    assert.deepEqual(p.started, []);
    fail(new Error('watcher did not start'));
    await settle();
    assert.deepEqual(p.started, [1, 2]);
    for (const r of p.release.splice(0)) r();
    assert.deepEqual(await Promise.all(all), [1, 2]);
  });
});
