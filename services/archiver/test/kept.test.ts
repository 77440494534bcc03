import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sampleData, sampleEvent, wrap, type EventEnvelope } from '@conform/contracts';
import { eventually, lastEventOf, type TestBus, type EventPublisher } from '@conform/bus';
import { keptAfterEncode, keptAfterVerify } from '../src/index.js';
import { startArchiverUnderTest, type ArchiverUnderTest } from './fixtures.js';

// A re-encode that does not save enough ends with the original kept: its own outcome with the
// measured ratio, never a failure.

const verifyFailed = (checks: EventEnvelope<'verify.failed'>['data']['checks']) => {
  const e = sampleEvent('verify.failed') as EventEnvelope<'verify.failed'>;
  return { ...e, data: { ...e.data, checks, policyVersion: 'p1' } };
};
const sizeGuard = (passed: boolean) => ({
  name: 'size-guard',
  passed,
  measured: 1.0312,
  limit: 0.9,
});
const ssim = (passed: boolean) => ({ name: 'ssim', passed, measured: 0.9, limit: 0.95 });

describe('keptAfterVerify / keptAfterEncode', () => {
  it('keeps the original when the size guard alone failed, with the measured ratio', () => {
    const kept = keptAfterVerify(verifyFailed([sizeGuard(false), ssim(true)]));
    assert.equal(kept?.type, 'file.kept');
    assert.equal(kept?.data.stage, 'verify');
    assert.equal(kept?.data.outputRatio, 1.0312);
    assert.equal(kept?.data.limitRatio, 0.9);
    assert.equal(kept?.data.policyVersion, 'p1');
    assert.match(kept?.data.reason ?? '', /came out at 1\.0312 .* above the limit 0\.9: no saving/);
  });

  it('is a real failure when any other check failed too', () => {
    assert.equal(keptAfterVerify(verifyFailed([sizeGuard(false), ssim(false)])), null);
    assert.equal(keptAfterVerify(verifyFailed([ssim(false)])), null);
  });

  it('keeps the original when the encoder’s size guard stopped the encode', () => {
    const e = sampleEvent('encode.failed') as EventEnvelope<'encode.failed'>;
    assert.equal(keptAfterEncode(e), null);
    const stopped = {
      ...e,
      data: { ...e.data, sizeGuard: { measuredRatio: 1.4, limitRatio: 0.9 }, policyVersion: 'p1' },
    };
    const kept = keptAfterEncode(stopped);
    assert.equal(kept?.data.stage, 'encode');
    assert.equal(kept?.data.outputRatio, 1.4);
    assert.match(kept?.data.reason ?? '', /on course for 1\.4 .*limit 0\.9/);
  });
});

let t: TestBus;
let under: ArchiverUnderTest;
let publisher: EventPublisher;
let library: string;
before(async () => {
  library = await mkdtemp(join(tmpdir(), 'conform-kept-'));
  under = await startArchiverUnderTest('archiver-kept-test', [
    { root: library, archive: join(library, '..', 'kept-archive') },
  ]);
  ({ t, publisher } = under);
});
after(async () => {
  await under.stop();
  await rm(library, { recursive: true, force: true });
});

describe('archiver on the bus', () => {
  it('publishes file.kept for a size-guard-only verdict and deletes the unusable output', async () => {
    const output = join(library, '.conform-work', 'fkept-1.mkv');
    await mkdir(join(library, '.conform-work'), { recursive: true });
    await writeFile(output, 'not worth it');
    const path = join(library, 'Film.mkv');
    const event = wrap(
      {
        type: 'verify.failed',
        data: {
          ...sampleData['verify.failed'],
          library,
          path,
          outputPath: output,
          checks: [sizeGuard(false)],
          policyVersion: 'p1',
        },
      },
      { fileId: 'fkept1', producer: 'verifier@test', time: new Date() },
    );
    await publisher.publish(event);
    const kept = await eventually(
      async () => (await lastEventOf(t.bus, 'file.kept', 'fkept1'))?.event,
      {
        timeoutMs: 20_000,
        what: 'file.kept',
      },
    );
    assert.equal(kept.causationId, event.id);
    assert.equal(kept.data.path, path);
    assert.equal(kept.data.outputRatio, 1.0312);
    assert.equal(existsSync(output), false, 'the output is gone from the work directory');
  });
});
