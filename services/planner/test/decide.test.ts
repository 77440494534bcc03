import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  sampleData,
  sampleEvent,
  validateEvent,
  wrap,
  type DomainEvent,
  type FileDiscoveredData,
} from '@conform/contracts';
import {
  checkFreshness,
  DEFAULT_POLICY,
  NO_HISTORY,
  planDiscovery,
  policyVersion,
  replanKnownFile,
  type ProbedFile,
  type PlanningHistory,
  type Policy,
} from '../src/index.js';

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
      assert.equal(planned.data.target?.videoCodec, 'hevc');
      assert.equal(planned.data.target?.container, 'mp4');
      assert.deepEqual(planned.data.limits, {
        maxSizeRatio: DEFAULT_POLICY.guardrails.maxOutputRatio,
      });
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

describe('planDiscovery given the file history', () => {
  const version = policyVersion(DEFAULT_POLICY);
  const plannedWith = (history: PlanningHistory) =>
    planDiscovery(discovered, { ok: true, media }, DEFAULT_POLICY, null, history)[1]!;

  it('with no history, plans the encode', () => {
    const planned = plannedWith(NO_HISTORY);
    assert.equal(planned.type === 'file.planned' && planned.data.decision, 'encode');
  });

  it('after a size-guard failure under the same policy, skips with the reason', () => {
    const planned = plannedWith({ sizeGuardFailedUnder: version, restoredUnder: null });
    assertValid(planned);
    assert.equal(planned.type, 'file.planned');
    if (planned.type !== 'file.planned') return;
    assert.equal(planned.data.decision, 'skip');
    assert.equal(planned.data.target, null);
    assert.match(
      planned.data.reasons[0] ?? '',
      /saved too little and the original was kept; not planned again until the file or the policy changes/,
    );
    // The read model keeps showing it as kept, not as a skipped (judged) file.
    assert.equal(planned.data.heldBy, 'kept');
  });

  it('after an operator restore under the same policy, skips', () => {
    const planned = plannedWith({ sizeGuardFailedUnder: null, restoredUnder: version });
    assert.equal(planned.type === 'file.planned' && planned.data.decision, 'skip');
  });

  it('once the policy changed, plans again', () => {
    const planned = plannedWith({ sizeGuardFailedUnder: 'older', restoredUnder: 'older' });
    assert.equal(planned.type === 'file.planned' && planned.data.decision, 'encode');
  });
});

describe('replanKnownFile', () => {
  const probed = sampleEvent('file.probed');
  const av1: Policy = { ...DEFAULT_POLICY, video: { ...DEFAULT_POLICY.video, codec: 'av1' } };
  const h264Compliant: Policy = {
    ...DEFAULT_POLICY,
    compliant: { ...DEFAULT_POLICY.compliant, codecs: ['h264', 'hevc'] },
  };
  /** The file.planned the planner published for the sample probe under `policy`. */
  function plannedUnder(policy: Policy) {
    const [, planned] = planDiscovery(
      sampleData['file.discovered'],
      { ok: true, media: probed.data.media },
      policy,
    );
    assert.equal(planned?.type, 'file.planned');
    return wrap(planned!, {
      fileId: probed.fileId,
      producer: 'planner@test',
      time: new Date(0),
      causation: probed,
    }) as ProbedFile['planned'] & object;
  }
  const known = (policy: Policy | null, settled = false): ProbedFile => ({
    fileId: probed.fileId,
    probed,
    planned: policy ? plannedUnder(policy) : null,
    settled,
  });

  describe('given a file planned under the current policy', () => {
    it('when re-planned, then nothing is published', () => {
      assert.equal(replanKnownFile(known(DEFAULT_POLICY), DEFAULT_POLICY), null);
    });
  });

  describe('given a file planned under another policy with the same outcome', () => {
    it('when re-planned, then nothing is published (the old version still stands)', () => {
      const sameOutcome: Policy = {
        ...DEFAULT_POLICY,
        exclude: ['**/never-matches/**'],
      };
      assert.notEqual(policyVersion(sameOutcome), policyVersion(DEFAULT_POLICY));
      assert.equal(replanKnownFile(known(DEFAULT_POLICY), sameOutcome), null);
    });
  });

  describe('given a file planned for hevc', () => {
    it('when the policy now asks for av1, then a new encode plan records both versions', () => {
      const next = replanKnownFile(known(DEFAULT_POLICY), av1);
      assert.equal(next?.type, 'file.planned');
      if (next?.type !== 'file.planned') return;
      assert.equal(next.data.decision, 'encode');
      assert.equal(next.data.target?.videoCodec, 'av1');
      assert.equal(next.data.policyVersion, policyVersion(av1));
      assert.equal(next.data.previousPolicyVersion, policyVersion(DEFAULT_POLICY));
      assert.deepEqual(next.data.source, probed.data.source);
      assertValid(next);
    });

    it('when the policy now counts h264 as compliant, then the file becomes compliant', () => {
      const next = replanKnownFile(known(DEFAULT_POLICY), h264Compliant);
      assert.equal(next?.type === 'file.planned' && next.data.decision, 'compliant');
    });
  });

  describe('given a file whose plan was already carried out', () => {
    it('when re-planned, then nothing is published (its new discovery decides)', () => {
      assert.equal(replanKnownFile(known(DEFAULT_POLICY, true), av1), null);
    });
  });

  describe('given a probed file that was never planned', () => {
    it('when re-planned, then it gets its first plan without a previous version', () => {
      const next = replanKnownFile(known(null), DEFAULT_POLICY);
      assert.equal(next?.type, 'file.planned');
      assert.equal(next?.type === 'file.planned' && next.data.previousPolicyVersion, undefined);
    });
  });
});
