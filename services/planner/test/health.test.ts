import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  sampleData,
  sampleEvent,
  validateEvent,
  wrap,
  type EventEnvelope,
  type FilePlannedData,
  type HealthReport,
} from '@conform/contracts';
import {
  DEFAULT_POLICY,
  decisionNow,
  isDamaged,
  maxSizeRatioOf,
  policyVersion,
  withHealth,
  type ProbedFile,
  type Policy,
} from '../src/index.js';

// A damaged source is left alone with ffmpeg's words; a re-encode that would not save enough
// is held to one size limit that joins maxOutputRatio and minSavingPercent.

const planned: FilePlannedData = {
  ...sampleData['file.planned'],
  limits: { maxSizeRatio: 0.9 },
};
const healthy: HealthReport = {
  mode: 'quick',
  checked: 'whole file (0-6 s)',
  errors: [],
  errorCount: 0,
};
const truncated: HealthReport = {
  mode: 'quick',
  checked: 'whole file (0-6 s)',
  errors: ['[mov,mp4,m4a,3gp,3g2,mj2 @ 0x1] stream 0, offset 0x3e7f2: partial file'],
  errorCount: 8,
  endsEarly:
    'decoded 2.577 s of the 6 s from 0 s that the header promises (6 s in all): the file ends early',
};
const withErrors = (n: number): Policy => ({
  ...DEFAULT_POLICY,
  health: { ...DEFAULT_POLICY.health, maxErrors: n },
});

describe('withHealth', () => {
  it('leaves a healthy source’s plan exactly as it was', () => {
    assert.equal(withHealth(planned, healthy, DEFAULT_POLICY), planned);
  });

  it('marks a truncated source damaged, with what ffmpeg said and nothing to encode', () => {
    const data = withHealth(planned, truncated, DEFAULT_POLICY);
    assert.equal(data.decision, 'damaged');
    assert.equal(data.target, null);
    assert.equal(data.limits, undefined);
    assert.deepEqual(data.health, truncated);
    assert.match(data.reasons.join('\n'), /failed its quick health check \(whole file \(0-6 s\)\)/);
    assert.match(data.reasons.join('\n'), /decoded 2\.577 s of the 6 s/);
    assert.match(
      data.reasons.join('\n'),
      /8 decode error\(s\) \(tolerated: 0\), first: .*partial file/,
    );
    const event = wrap(
      { type: 'file.planned', data },
      { fileId: 'f1', producer: 'test', time: new Date() },
    );
    const valid = validateEvent(event);
    assert.ok(valid.ok, valid.ok ? '' : valid.error);
  });

  it('tolerates up to maxErrors error lines, but never a file that ends early', () => {
    const noisy: HealthReport = {
      ...healthy,
      errors: ['non-existing PPS 0 referenced'],
      errorCount: 3,
    };
    assert.equal(isDamaged(noisy, DEFAULT_POLICY), true);
    assert.equal(isDamaged(noisy, withErrors(3)), false);
    assert.equal(isDamaged(truncated, withErrors(100)), true);
  });
});

describe('maxSizeRatioOf', () => {
  it('is the tighter of maxOutputRatio and the minimum saving', () => {
    const p = (minSavingPercent: number, maxOutputRatio: number): Policy => ({
      ...DEFAULT_POLICY,
      guardrails: { ...DEFAULT_POLICY.guardrails, minSavingPercent, maxOutputRatio },
    });
    assert.equal(maxSizeRatioOf(p(0, 1)), 1);
    assert.equal(maxSizeRatioOf(p(25, 0.9)), 0.75);
    assert.equal(maxSizeRatioOf(p(5, 0.8)), 0.8);
  });
});

describe('decisionNow (what the dry run shows)', () => {
  const probed = sampleEvent('file.probed') as EventEnvelope<'file.probed'>;
  const version = policyVersion(DEFAULT_POLICY);
  const plannedEvent = (data: Partial<FilePlannedData>) =>
    ({
      ...sampleEvent('file.planned'),
      data: { ...sampleData['file.planned'], ...data },
    }) as EventEnvelope<'file.planned'>;
  const known = (extra: Partial<ProbedFile>): ProbedFile => ({
    fileId: probed.fileId,
    probed,
    planned: null,
    settled: false,
    ...extra,
  });

  it('plans the encode when nothing holds the file back', () => {
    assert.equal(decisionNow(known({}), DEFAULT_POLICY).decision, 'encode');
  });

  it('shows a file kept for lack of saving under this policy as held, not as a new encode', () => {
    const d = decisionNow(
      known({ history: { sizeGuardFailedUnder: version, restoredUnder: null } }),
      DEFAULT_POLICY,
    );
    assert.equal(d.decision, 'skip');
    assert.equal(d.heldBy, 'kept');
    assert.match(d.reasons[0] ?? '', /saved too little and the original was kept/);
  });

  it('shows an operator-restored file as held', () => {
    const d = decisionNow(
      known({ history: { sizeGuardFailedUnder: null, restoredUnder: version } }),
      DEFAULT_POLICY,
    );
    assert.equal(d.heldBy, 'restored');
  });

  it('keeps showing a damaged source damaged under the same policy; a new policy decides again', () => {
    const damaged = plannedEvent({
      decision: 'damaged',
      reasons: ['the source failed its quick health check'],
      target: null,
      policyVersion: version,
    });
    assert.equal(decisionNow(known({ planned: damaged }), DEFAULT_POLICY).decision, 'damaged');
    const older = plannedEvent({
      decision: 'damaged',
      reasons: ['x'],
      target: null,
      policyVersion: 'older',
    });
    assert.equal(decisionNow(known({ planned: older }), DEFAULT_POLICY).decision, 'encode');
  });
});
