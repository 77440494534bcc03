import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeviceSlots, mayPull, PullGate, takeSlot } from '../src/index.js';

describe('mayPull', () => {
  it('pulls while fewer plans than slots are in hand', () => {
    assert.equal(mayPull(0, 2, 0), true);
    assert.equal(mayPull(1, 2, 0), true);
    assert.equal(mayPull(2, 2, 0), false);
  });
  it('pulls one successor per encode about to end, never more than the slots', () => {
    assert.equal(mayPull(2, 2, 1), true);
    assert.equal(mayPull(3, 2, 1), false);
    assert.equal(mayPull(3, 2, 2), true);
    assert.equal(mayPull(4, 2, 2), false);
    assert.equal(mayPull(4, 2, 4), false);
  });
});

describe('PullGate', () => {
  const state = async (p: Promise<void>) =>
    Promise.race([p.then(() => 'open'), new Promise((r) => setImmediate(() => r('waiting')))]);

  it('holds the pull past the slots until an encode nears its end or leaves', async () => {
    const gate = new PullGate(1, 3);
    const signal = new AbortController().signal;
    const first = gate.enter();
    const waiting = gate.whenMayPull(signal);
    assert.equal(await state(waiting), 'waiting');
    first.progress(10); // far from the end: still waiting
    assert.equal(await state(waiting), 'waiting');
    first.progress(2);
    assert.equal(await state(waiting), 'open');
    const ahead = gate.enter();
    assert.equal(await state(gate.whenMayPull(signal)), 'waiting');
    first.leave();
    ahead.leave();
    assert.equal(await state(gate.whenMayPull(signal)), 'open');
  });

  it('lets a waiting pull go when the worker stops', async () => {
    const gate = new PullGate(1);
    gate.enter();
    const stop = new AbortController();
    const waiting = gate.whenMayPull(stop.signal);
    stop.abort();
    assert.equal(await state(waiting), 'open');
  });
});

describe('takeSlot', () => {
  const pauseOf = () => {
    let resume: () => void = () => undefined;
    const pause = {
      paused: false,
      whenRunning: () =>
        pause.paused ? new Promise<void>((r) => (resume = r)) : Promise.resolve(),
    };
    return { pause, resume: () => ((pause.paused = false), resume()) };
  };
  const signal = new AbortController().signal;

  it('takes a free slot at once, paused or not (the plan was pulled before the pause)', async () => {
    const { pause } = pauseOf();
    pause.paused = true;
    const slots = new DeviceSlots({ cpu: 1, nvenc: 1, qsv: 1, vaapi: 1 });
    const release = await takeSlot(slots, pause, 'cpu', signal);
    assert.equal(slots.usage('cpu').inUse, 1);
    release();
  });

  it('a plan that waited for its slot and finds the node paused gives it back until resumed', async () => {
    const { pause, resume } = pauseOf();
    const slots = new DeviceSlots({ cpu: 1, nvenc: 1, qsv: 1, vaapi: 1 });
    const running = await takeSlot(slots, pause, 'cpu', signal);
    let taken = false;
    const successor = takeSlot(slots, pause, 'cpu', signal).then((r) => ((taken = true), r));
    pause.paused = true;
    running();
    await new Promise((r) => setImmediate(r));
    assert.equal(taken, false);
    assert.equal(slots.usage('cpu').inUse, 0, 'the slot went back while paused');
    resume();
    (await successor)();
    assert.equal(taken, true);
  });
});
