import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstScanProbeSlots } from '../src/runtime.js';

describe('probes during the first scan of conform up', () => {
  it('leave two cores to the scan (conform’s main thread, nats-server): none on two cores', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 16].map((cores) => firstScanProbeSlots(cores)),
      [0, 0, 1, 2, 14],
    );
  });
});
