import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdlePulls, mayPullNow } from '../src/idle-pulls.js';

/** Whether `p` has settled by the time the microtasks queued now have run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('pull loops of one consumer', () => {
  it('pull all at once while there is work, one at a time once a pull came back empty', () => {
    assert.equal(mayPullNow(false, 3), true);
    assert.equal(mayPullNow(true, 0), true);
    assert.equal(mayPullNow(true, 1), false);
  });

  it('an empty pull holds the other loops back until a pull brings a message', async () => {
    const idle = new IdlePulls();
    const signal = new AbortController().signal;
    // At start every loop pulls.
    await idle.turn(signal);
    await idle.turn(signal);
    idle.done(false); // the first came back empty; the second is still pulling
    const third = idle.turn(signal);
    assert.equal(await settled(third), false, 'waits while another loop pulls an idle consumer');
    idle.done(false); // the second came back empty too: one loop may pull again
    assert.equal(await settled(third), true);
    const fourth = idle.turn(signal);
    assert.equal(await settled(fourth), false);
    idle.done(true); // the third brought a message: everyone pulls
    assert.equal(await settled(fourth), true);
    assert.equal(await settled(idle.turn(signal)), true);
  });

  it('a loop waiting for its turn is let go when the worker stops', async () => {
    const idle = new IdlePulls();
    const stop = new AbortController();
    await idle.turn(stop.signal);
    idle.done(false);
    await idle.turn(stop.signal);
    const waiting = idle.turn(stop.signal);
    assert.equal(await settled(waiting), false);
    stop.abort();
    assert.equal(await settled(waiting), true);
  });
});
