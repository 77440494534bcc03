import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdlePulls, mayPullNow, type PullBatch } from '../src/idle-pulls.js';

/** Whether `p` has settled by the time the microtasks and immediates queued now have run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  return done;
}

/** A fake consumer: every pull it was asked for, fed and ended by the test. */
function fakeConsumer() {
  const pulls: { max: number; push(msg: string): void; end(err?: Error): void }[] = [];
  const start = (max: number): Promise<PullBatch<string>> => {
    const queue: string[] = [];
    let ended: { err?: Error } | null = null;
    let wake = () => {};
    pulls.push({
      max,
      push: (msg) => (queue.push(msg), wake()),
      end: (err) => ((ended = { err }), wake()),
    });
    const batch: PullBatch<string> = {
      stop: () => ((ended = {}), wake()),
      async *[Symbol.asyncIterator]() {
        for (;;) {
          if (queue.length > 0) {
            yield queue.shift()!;
            continue;
          }
          if (ended) {
            if (ended.err) throw ended.err;
            return;
          }
          await new Promise<void>((resolve) => (wake = resolve));
        }
      },
    };
    return Promise.resolve(batch);
  };
  return { pulls, start };
}

describe('pull loops of one consumer', () => {
  it('pull at once while there is work, one pull in flight once a pull came back short', () => {
    assert.equal(mayPullNow(false, 3), true);
    assert.equal(mayPullNow(true, 0), true);
    assert.equal(mayPullNow(true, 1), false);
  });

  it('an idle consumer has one pull in flight, asking for a message per waiting loop', async () => {
    const c = fakeConsumer();
    const idle = new IdlePulls<string>(() => assert.fail('no orphans'));
    const signal = new AbortController().signal;
    const loops = [0, 1, 2, 3].map(() => idle.next(c.start, signal));
    await settled(loops[0]!);
    assert.deepEqual(
      c.pulls.map((p) => p.max),
      [4],
      'one pull for the four loops',
    );
    // It expires empty: every loop goes with nothing and checks its gate again …
    c.pulls[0]!.end();
    assert.deepEqual(await Promise.all(loops), [null, null, null, null]);
    // … and the four come back within the turn: one pull stands for them again.
    const again = [0, 1, 2, 3].map(() => idle.next(c.start, signal));
    await settled(again[0]!);
    assert.deepEqual(
      c.pulls.map((p) => p.max),
      [4, 4],
    );
    // A burst after the lull: the one pull hands a message to every loop, no second pull.
    for (const m of ['a', 'b', 'c', 'd']) c.pulls[1]!.push(m);
    assert.deepEqual(await Promise.all(again), ['a', 'b', 'c', 'd']);
    assert.equal(c.pulls.length, 2);
  });

  it('a loop that comes while an idle pull is in flight pulls at once when a message arrives', async () => {
    const c = fakeConsumer();
    const idle = new IdlePulls<string>(() => assert.fail('no orphans'));
    const signal = new AbortController().signal;
    const first = idle.next(c.start, signal);
    await settled(first);
    const late = idle.next(c.start, signal);
    assert.equal(await settled(late), false);
    assert.equal(c.pulls.length, 1, 'waits behind the idle pull');
    c.pulls[0]!.push('a'); // the consumer has work: the late loop pulls for itself
    assert.equal(await first, 'a');
    await settled(late);
    assert.deepEqual(
      c.pulls.map((p) => p.max),
      [1, 1],
    );
    c.pulls[1]!.push('b');
    assert.equal(await late, 'b');
  });

  it("a pull's failure reaches the loops it stood for", async () => {
    const c = fakeConsumer();
    const idle = new IdlePulls<string>(() => assert.fail('no orphans'));
    const signal = new AbortController().signal;
    const loops = [idle.next(c.start, signal), idle.next(c.start, signal)];
    await settled(loops[0]!);
    c.pulls[0]!.end(new Error('consumer deleted'));
    for (const l of loops) await assert.rejects(l, /consumer deleted/);
  });

  it('a waiting loop is let go when the worker stops, and its pull ends', async () => {
    const c = fakeConsumer();
    const idle = new IdlePulls<string>(() => assert.fail('no orphans'));
    const stop = new AbortController();
    const waiting = idle.next(c.start, stop.signal);
    await settled(waiting);
    stop.abort();
    assert.equal(await waiting, null);
    c.pulls[0]!.push('a'); // too late: the pull was stopped
    await settled(Promise.resolve());
    assert.equal(await idle.next(c.start, stop.signal), null, 'no pull once stopped');
    assert.equal(c.pulls.length, 1);
  });

  it('a message brought for a loop that stopped meanwhile is given back', async () => {
    const c = fakeConsumer();
    const orphans: string[] = [];
    const idle = new IdlePulls<string>((m) => orphans.push(m));
    const running = new AbortController().signal;
    const leaving = new AbortController();
    const stays = idle.next(c.start, running);
    const goes = idle.next(c.start, leaving.signal);
    await settled(stays);
    assert.deepEqual(
      c.pulls.map((p) => p.max),
      [2],
    );
    leaving.abort();
    assert.equal(await goes, null);
    c.pulls[0]!.push('a');
    c.pulls[0]!.push('b');
    assert.equal(await stays, 'a');
    await settled(Promise.resolve());
    assert.deepEqual(orphans, ['b']);
  });
});
