import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkFreeSpace, formatBytes, freeSpaceNeeded } from '../src/index.js';

const MiB = 1024 ** 2;

describe('the shared free-space rule', () => {
  it('needs the estimated output plus 10 %, not a flat 2 GiB', () => {
    const need = freeSpaceNeeded({
      estimatedOutputBytes: 100 * MiB,
      sourceBytes: 400 * MiB,
      reserveBytes: 0,
    });
    assert.equal(need.bytes, 110 * MiB);
    assert.equal(need.why, 'estimated output 100.0 MiB + 10 %');
  });

  it('falls back to the source size without an estimate, and honours a larger reserve', () => {
    assert.equal(
      freeSpaceNeeded({ estimatedOutputBytes: null, sourceBytes: 10 * MiB, reserveBytes: 0 }).bytes,
      11 * MiB,
    );
    const reserved = freeSpaceNeeded({
      estimatedOutputBytes: MiB,
      sourceBytes: 2 * MiB,
      reserveBytes: 5e9,
    });
    assert.equal(reserved.bytes, 5e9);
    assert.match(reserved.why, /the policy's reserve 4\.7 GiB/);
  });

  it('says both sizes in real units and names the filesystem', () => {
    const need = freeSpaceNeeded({
      estimatedOutputBytes: 36 * MiB,
      sourceBytes: 90 * MiB,
      reserveBytes: 0,
    });
    const verdict = checkFreeSpace(12 * MiB, need, '/media/movies');
    assert.deepEqual(verdict, {
      ok: false,
      reason:
        'free space 12.0 MiB on /media/movies is below the 39.6 MiB needed (estimated output 36.0 MiB + 10 %)',
    });
    assert.deepEqual(checkFreeSpace(need.bytes, need, '/m'), { ok: true });
  });

  it('formats bytes with binary units', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(5 * 1024 ** 3), '5.0 GiB');
    assert.equal(formatBytes(3 * 1024 ** 4), '3.0 TiB');
  });
});
