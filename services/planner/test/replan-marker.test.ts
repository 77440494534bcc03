// The start-up re-plan pass reads the whole event log; a start under the policies of the last
// complete pass skips it (replan-marker.ts). Real bus: the marker lives in a KV bucket.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sampleEvent } from '@conform/contracts';
import {
  EventPublisher,
  lastEventOf,
  openKeyValue,
  provisionEventLog,
  silentLogger,
  startTestBus,
  type TestBus,
} from '@conform/bus';
import {
  DEFAULT_POLICY,
  PLANNER_BUCKET,
  policyVersion,
  replanKey,
  startPlanner,
  type Policy,
} from '../src/index.js';

let t: TestBus;
let publisher: EventPublisher;
before(async () => {
  t = await startTestBus('planner-replan-marker-test');
  await provisionEventLog(t.bus.jsm, { maxBytes: 64 * 1024 * 1024 });
  publisher = new EventPublisher(t.bus.js, { producer: 'test@host' });
});
after(() => t.cleanup());

const av1: Policy = { ...DEFAULT_POLICY, video: { ...DEFAULT_POLICY.video, codec: 'av1' } };

/** A file the log has probed (an H.264 source) but never planned: any re-plan pass plans it. */
async function probedUnplanned(fileId: string): Promise<void> {
  await publisher.publish(sampleEvent('file.probed', fileId));
}

async function startAndStop(policy: Policy): Promise<void> {
  const planner = await startPlanner(
    { bus: t.bus, publisher, log: silentLogger() },
    { policy, slots: 1 },
  );
  await planner.stop();
}

const planOf = async (fileId: string) => (await lastEventOf(t.bus, 'file.planned', fileId))?.event;

describe('re-plan marker', () => {
  it('keys on the fallback policy and each library policy, whatever their order', () => {
    const a = { root: '/a', policy: DEFAULT_POLICY };
    const b = { root: '/b', policy: av1 };
    assert.equal(replanKey(DEFAULT_POLICY, [a, b]), replanKey(DEFAULT_POLICY, [b, a]));
    assert.notEqual(replanKey(DEFAULT_POLICY, [a, b]), replanKey(av1, [a, b]));
    assert.notEqual(
      replanKey(DEFAULT_POLICY, [a]),
      replanKey(DEFAULT_POLICY, [{ ...a, policy: av1 }]),
    );
    assert.notEqual(replanKey(DEFAULT_POLICY, [a]), replanKey(DEFAULT_POLICY, [a, b]));
  });

  it('skips the pass under the same policies, runs it when they change or the marker is gone', async () => {
    await probedUnplanned('before-first');
    await startAndStop(DEFAULT_POLICY); // no marker yet: the pass runs and records it
    assert.equal((await planOf('before-first'))?.data.policyVersion, policyVersion(DEFAULT_POLICY));

    await probedUnplanned('unchanged');
    await startAndStop(DEFAULT_POLICY); // start resolves after the pass (or its skip)
    assert.equal(await planOf('unchanged'), undefined, 'same policies: the log was not re-read');

    await startAndStop(av1); // another policy: the pass runs
    assert.equal((await planOf('unchanged'))?.data.policyVersion, policyVersion(av1));

    await probedUnplanned('marker-lost');
    await startAndStop(av1);
    assert.equal(await planOf('marker-lost'), undefined);
    const bucket = await openKeyValue(t.bus, PLANNER_BUCKET);
    await bucket.put('replanned-policies', 'unreadable');
    await startAndStop(av1);
    assert.equal((await planOf('marker-lost'))?.data.policyVersion, policyVersion(av1));
  });
});
