import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkHealth, generateClip, healthSegments, probeMedia } from '../src/index.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conform-health-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('healthSegments', () => {
  it('quick: first and last 30 s and 5 s from the middle of a long file', () => {
    assert.deepEqual(healthSegments(7200, 'quick'), [
      { startSec: 0, lengthSec: 30 },
      { startSec: 3597.5, lengthSec: 5 },
      { startSec: 7170, lengthSec: 30 },
    ]);
  });
  it('decodes a short file, a file of unknown length and every file in full mode whole', () => {
    const whole = [{ startSec: 0, lengthSec: null }];
    assert.deepEqual(healthSegments(40, 'quick'), whole);
    assert.deepEqual(healthSegments(null, 'quick'), whole);
    assert.deepEqual(healthSegments(7200, 'full'), whole);
  });
});

describe('checkHealth (real ffmpeg)', () => {
  for (const ext of ['mp4', 'mkv']) {
    it(`finds a truncated ${ext} whose header claims 6 s but holds about 2.5 s`, async () => {
      const path = join(dir, `truncated.${ext}`);
      await generateClip({ path, durationSec: 6, audioTracks: 1, faststart: true });
      await truncate(path, Math.floor(((await stat(path)).size * 42) / 100));
      const duration = (await probeMedia(path)).durationSec;
      assert.ok(duration !== null && duration > 5.9, `header still claims ${duration} s`);
      const report = await checkHealth(path, duration, 'quick');
      assert.match(
        report.endsEarly ?? '',
        /decoded 2\.\d+ s of the 6(\.\d+)? s .* the file ends early/,
      );
      assert.ok(report.errorCount >= 1, 'ffmpeg reported errors');
      assert.match(report.errors.join('\n'), /partial file|ended prematurely/);
    });
  }

  it('passes an intact clip with no errors', async () => {
    const path = join(dir, 'intact.mkv');
    await generateClip({ path, durationSec: 2, audioTracks: 2, subtitles: true });
    const duration = (await probeMedia(path)).durationSec;
    const report = await checkHealth(path, duration, 'full');
    assert.deepEqual(report, {
      mode: 'full',
      checked: `whole file (0-${duration} s)`,
      errors: [],
      errorCount: 0,
    });
  });
});
