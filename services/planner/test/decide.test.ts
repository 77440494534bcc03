import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  sampleData,
  validateEvent,
  wrap,
  type DomainEvent,
  type FileDiscoveredData,
} from '@conform/contracts';
import { checkFreshness, DEFAULT_POLICY, planDiscovery, policyVersion } from '../src/index.js';

const discovered: FileDiscoveredData = sampleData['file.discovered'];
const media = sampleData['file.probed'].media;

/** Proves a decided event is publishable: the bus would refuse it otherwise. */
function assertValid(event: DomainEvent): void {
  const result = validateEvent(
    wrap(event, { fileId: 'fabc', producer: 'test', time: new Date(0) }),
  );
  assert.ok(result.ok, result.ok ? '' : result.error);
}

describe('checkFreshness', () => {
  it('given the same size and mtime, the file is fresh', () => {
    assert.deepEqual(
      checkFreshness(discovered, { size: discovered.size, mtimeMs: discovered.mtimeMs }),
      {
        fresh: true,
      },
    );
  });

  it('given a sub-millisecond mtime difference, the file is still fresh', () => {
    const current = { size: discovered.size, mtimeMs: discovered.mtimeMs + 0.4 };
    assert.equal(checkFreshness(discovered, current).fresh, true);
  });

  it('given a missing file, it is not fresh', () => {
    assert.deepEqual(checkFreshness(discovered, null), {
      fresh: false,
      why: 'file no longer exists',
    });
  });

  it('given a different size, it is not fresh and says so', () => {
    const verdict = checkFreshness(discovered, { size: 5, mtimeMs: discovered.mtimeMs });
    assert.deepEqual(verdict, { fresh: false, why: `size changed from ${discovered.size} to 5` });
  });

  it('given a later mtime, it is not fresh', () => {
    const verdict = checkFreshness(discovered, {
      size: discovered.size,
      mtimeMs: discovered.mtimeMs + 1000,
    });
    assert.equal(verdict.fresh, false);
  });
});

describe('planDiscovery', () => {
  describe('given a readable h264 file', () => {
    const events = planDiscovery(discovered, { ok: true, media }, DEFAULT_POLICY);

    it('emits file.probed then file.planned, both schema-valid', () => {
      assert.deepEqual(
        events.map((e) => e.type),
        ['file.probed', 'file.planned'],
      );
      events.forEach(assertValid);
    });

    it('plans an encode recording the policy version, duration and source stamp', () => {
      const planned = events[1];
      assert.equal(planned?.type, 'file.planned');
      if (planned?.type !== 'file.planned') return;
      assert.equal(planned.data.decision, 'encode');
      assert.equal(planned.data.policyVersion, policyVersion(DEFAULT_POLICY));
      assert.equal(planned.data.durationSec, media.durationSec);
      assert.deepEqual(planned.data.source, { size: discovered.size, mtimeMs: discovered.mtimeMs });
      assert.deepEqual(planned.data.target, { videoCodec: 'hevc', container: 'mp4' });
    });
  });

  describe('given an unreadable file', () => {
    it('emits only file.unreadable with the reason', () => {
      const events = planDiscovery(
        discovered,
        { ok: false, reason: 'Invalid data found' },
        DEFAULT_POLICY,
      );
      assert.equal(events.length, 1);
      assert.equal(events[0]?.type, 'file.unreadable');
      assert.equal(
        events[0]?.type === 'file.unreadable' && events[0].data.reason,
        'Invalid data found',
      );
      events.forEach(assertValid);
    });
  });
});
