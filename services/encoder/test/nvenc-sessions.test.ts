import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FfmpegFailedError, runFfmpeg } from '@conform/media';
import {
  ENCODE_PROFILES,
  decideNvencSlots,
  isOutOfNvencSessions,
  probeNvencSessions,
  sessionTrialArgs,
} from '../src/index.js';

// ffmpeg's own words when the driver refuses another session (NV_ENC_ERR_OUT_OF_MEMORY = 10):
// ffmpeg 5.x prints the first line, 4.x the first without "(no details)" and then the second.
const OUT_OF_SESSIONS_5 = [
  '[hevc_nvenc @ 0x55d5c8f4a300] OpenEncodeSessionEx failed: out of memory (10): (no details)',
  'Error initializing output stream 0:0 -- Error while opening encoder for output stream #0:0 - maybe incorrect parameters such as bit_rate, rate, width or height',
];
const OUT_OF_SESSIONS_4 = [
  '[h264_nvenc @ 0x5581a1b0c2c0] OpenEncodeSessionEx failed: out of memory (10)',
  '[h264_nvenc @ 0x5581a1b0c2c0] No NVENC capable devices found',
];

describe('NVENC session limits', () => {
  it('recognises "out of sessions" in ffmpeg’s NVENC error text, and only that', () => {
    assert.equal(isOutOfNvencSessions(OUT_OF_SESSIONS_5), true);
    assert.equal(isOutOfNvencSessions(OUT_OF_SESSIONS_4), true);
    assert.equal(
      isOutOfNvencSessions([
        '[hevc_nvenc @ 0x1] OpenEncodeSessionEx failed: incompatible client key (21): (no details)',
      ]),
      false,
    );
    assert.equal(isOutOfNvencSessions(['Invalid data found when processing input']), false);
  });

  it('sets slots to the measured cap unless configured lower', () => {
    const five = [...Array(5).fill('ok'), ...Array(7).fill('out-of-sessions')];
    assert.deepEqual(decideNvencSlots(five, undefined, 3), {
      slots: 5,
      cap: 5,
      reason: 'the driver allows 5 concurrent NVENC sessions on this host',
    });
    assert.equal(decideNvencSlots(five, 2, 3).slots, 2, 'configured lower wins');
    assert.equal(decideNvencSlots(five, 8, 3).slots, 5, 'configured higher is capped');
    const noCap = Array(12).fill('ok');
    assert.deepEqual(decideNvencSlots(noCap, undefined, 3), {
      slots: 3,
      cap: null,
      reason: '12 concurrent trial sessions opened: no cap seen',
    });
    assert.equal(decideNvencSlots(noCap, 10, 3).slots, 10);
    assert.deepEqual(decideNvencSlots(Array(12).fill('out-of-sessions'), undefined, 3).slots, 1);
    assert.equal(decideNvencSlots(Array(12).fill('failed'), undefined, 3).cap, null);
  });

  it('runs real concurrent trial sessions; without a GPU they fail, but not for sessions', async () => {
    const profile = ENCODE_PROFILES.hevc_nvenc;
    assert.deepEqual(sessionTrialArgs(profile).slice(0, 9), [
      '-hide_banner',
      '-nostdin',
      '-v',
      'error',
      '-re',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=256x144:rate=25:duration=2',
    ]);
    // This machine has no GPU: ffmpeg's NVENC error is about the driver, not about sessions.
    const err = await runFfmpeg(sessionTrialArgs(profile)).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof FfmpegFailedError, 'hevc_nvenc fails without a GPU');
    assert.equal(isOutOfNvencSessions(err.stderrTail), false, err.stderrTail.join('\n'));
    const trials = await probeNvencSessions(profile, 2);
    assert.deepEqual(trials, ['failed', 'failed']);
    assert.deepEqual(decideNvencSlots(trials, undefined, 3), {
      slots: 3,
      cap: null,
      reason: 'the trial sessions failed for another reason',
    });
  });
});
