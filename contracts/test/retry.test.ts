import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retryRefusal, sampleData, sampleEvent, type EventEnvelope } from '../src/index.js';

const plan = (over: Partial<EventEnvelope<'file.planned'>['data']> = {}) => {
  const e = sampleEvent('file.planned', 'f1') as EventEnvelope<'file.planned'>;
  return { ...e, data: { ...e.data, ...over } };
};

describe('retryRefusal', () => {
  it('lets a failed encode plan be retried', () => {
    assert.equal(retryRefusal(plan(), null, false), null);
    assert.equal(retryRefusal(plan({ decision: 'remux' }), null, false), null);
  });

  it('refuses a kept file with the measured ratio and what re-plans it, unless forced', () => {
    const refusal = retryRefusal(plan(), sampleData['file.kept'], false);
    assert.equal(refusal?.code, 'KEPT');
    assert.match(refusal.message, /came to 97 % of the source; the policy accepts at most 90 %/);
    assert.match(refusal.message, /guardrails\.minSavingPercent/);
    assert.equal(retryRefusal(plan(), sampleData['file.kept'], true), null);
  });

  it('refuses a damaged source even when forced, naming the health check', () => {
    const damaged = plan({
      decision: 'damaged',
      target: null,
      health: {
        mode: 'full',
        checked: 'whole file',
        errors: [],
        errorCount: 0,
        endsEarly: 'ends at 2.5 s of 6 s',
      },
    });
    for (const force of [false, true]) {
      const refusal = retryRefusal(damaged, null, force);
      assert.equal(refusal?.code, 'DAMAGED');
      assert.match(
        refusal.message,
        /full health check of whole file: 0 decode error\(s\); ends at 2\.5 s of 6 s/,
      );
    }
    assert.equal(
      retryRefusal(plan({ decision: 'compliant', target: null }), null, true)?.code,
      'NOT_ENCODE',
    );
  });
});
