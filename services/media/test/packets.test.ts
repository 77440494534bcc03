import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  generateClip,
  measureStreamBitRates,
  packetSampleWindows,
  sumPacketSizes,
} from '../src/index.js';

describe('packet sizes', () => {
  it('sums sizes per stream, ignoring what is not two numbers', () => {
    assert.deepEqual(
      [...sumPacketSizes('0,100\n1,20\n0,50\nside_data\n1,\n\n1,5\n').entries()],
      [
        [0, 150],
        [1, 25],
      ],
    );
  });

  it('reads short files whole and long ones in three 30 s windows', () => {
    assert.equal(packetSampleWindows(null), null);
    assert.equal(packetSampleWindows(600), null);
    assert.deepEqual(packetSampleWindows(7200), [
      { startSec: 1800, lengthSec: 30 },
      { startSec: 3600, lengthSec: 30 },
      { startSec: 5400, lengthSec: 30 },
    ]);
  });

  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'conform-packets-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('measures the rate of an mkv stream that carries no bit rate (48 kHz stereo PCM: 1536 kbit/s)', async () => {
    const path = join(dir, 'pcm.mkv');
    await generateClip({ path, durationSec: 3, audioCodec: 'pcm_s16le' });
    const rates = await measureStreamBitRates(path, 3);
    const audio = rates.get(1) ?? 0;
    assert.ok(Math.abs(audio - 1_536_000) < 1_536_000 * 0.03, `measured ${audio} bit/s`);
    assert.ok((rates.get(0) ?? 0) > 0, 'the video stream is measured too');
  });

  it('an unreadable file or unknown duration gives no rates', async () => {
    assert.equal((await measureStreamBitRates(join(dir, 'missing.mkv'), 10)).size, 0);
    assert.equal((await measureStreamBitRates(join(dir, 'pcm.mkv'), null)).size, 0);
  });
});
