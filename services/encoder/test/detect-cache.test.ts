import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createLogger } from '@conform/bus';
import {
  cachedAvailability,
  DETECTION_CACHE_FILE,
  detectEncodersCached,
  detectionKey,
  type DetectionKey,
} from '../src/detect-cache.js';
import type { EncoderAvailability } from '../src/detect.js';

const found: EncoderAvailability[] = [
  {
    encoder: 'libx265',
    codec: 'hevc',
    backend: 'cpu',
    compiled: true,
    works: true,
    reason: 'trial encode succeeded',
  },
  {
    encoder: 'hevc_nvenc',
    codec: 'hevc',
    backend: 'nvenc',
    compiled: true,
    works: false,
    reason: 'trial encode failed: Cannot load libcuda.so.1',
  },
];
const key: DetectionKey = {
  ffmpeg: 'ffmpeg version 5.1',
  devices: ['dri/renderD128'],
  nvidiaDriver: null,
};

describe('cachedAvailability', () => {
  it('returns the stored answer only under the same key', () => {
    const text = JSON.stringify({ key, availability: found });
    assert.deepEqual(cachedAvailability(text, key), found);
    assert.equal(cachedAvailability(text, { ...key, ffmpeg: 'ffmpeg version 6.0' }), null);
    assert.equal(cachedAvailability(text, { ...key, devices: ['nvidia0', 'nvidiactl'] }), null);
    assert.equal(cachedAvailability(text, { ...key, nvidiaDriver: 'NVRM version: 550' }), null);
  });

  it('treats a missing, corrupt or malformed file as no answer', () => {
    assert.equal(cachedAvailability(null, key), null);
    assert.equal(cachedAvailability('{"key":', key), null);
    assert.equal(cachedAvailability(JSON.stringify({ key, availability: 'x' }), key), null);
    assert.equal(
      cachedAvailability(JSON.stringify({ key, availability: [{ encoder: 'libx265' }] }), key),
      null,
    );
  });
});

describe('detectEncodersCached', () => {
  it('detects once per key and stores it in the state directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conform-test-detect-cache-'));
    try {
      const log = createLogger({ level: 'silent' });
      let runs = 0;
      const detect = async () => {
        runs++;
        return found;
      };
      assert.deepEqual(await detectEncodersCached(dir, log, detect), found);
      assert.equal(runs, 1);
      const stored = JSON.parse(await readFile(join(dir, DETECTION_CACHE_FILE), 'utf8'));
      assert.deepEqual(stored.key, await detectionKey());
      assert.deepEqual(await detectEncodersCached(dir, log, detect), found);
      assert.equal(runs, 1, 'the second start used the stored answer');

      // A different ffmpeg (or GPU) than the one it was stored for: detected again.
      await writeFile(
        join(dir, DETECTION_CACHE_FILE),
        JSON.stringify({
          key: { ...stored.key, ffmpeg: 'ffmpeg version 0.1' },
          availability: found,
        }),
      );
      assert.deepEqual(await detectEncodersCached(dir, log, detect), found);
      assert.equal(runs, 2);
      await writeFile(join(dir, DETECTION_CACHE_FILE), 'not json');
      assert.deepEqual(await detectEncodersCached(dir, log, detect), found);
      assert.equal(runs, 3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
