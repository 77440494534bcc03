import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SharedLookup } from '../src/shared-lookup.js';

describe('SharedLookup', () => {
  it('answers the loops that ask together with one lookup', async () => {
    let calls = 0;
    const shared = new SharedLookup(async () => ++calls);
    const got = await Promise.all([shared.get(), shared.get(), shared.get()]);
    assert.deepEqual(got, [1, 1, 1]);
    assert.equal(await shared.get(), 1, 'kept while it works');
    assert.equal(calls, 1);
  });

  it('looks up again once after a loop failed with what it got, not once per loop', async () => {
    let calls = 0;
    const shared = new SharedLookup(async () => ++calls);
    const first = shared.get();
    await first;
    shared.forget(first);
    const again = shared.get();
    shared.forget(first); // a second loop that failed with the old one: already forgotten
    assert.equal(shared.get(), again);
    assert.equal(await again, 2);
    assert.equal(calls, 2);
  });

  it('retries a lookup that failed', async () => {
    let calls = 0;
    const shared = new SharedLookup(async () => {
      if (++calls === 1) throw new Error('consumer not found');
      return calls;
    });
    await assert.rejects(shared.get(), /consumer not found/);
    assert.equal(await shared.get(), 2);
  });
});
