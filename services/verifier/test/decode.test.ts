import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEVICE_INPUT_ARGS,
  decodePassArgs,
  deviceVerdict,
  encoderDevice,
  frameCountCheck,
  frameToleranceFor,
  packetsFromKeyframe,
  videoPacketsOf,
  parseProgressFrames,
  trialDecodeArgs,
} from '../src/index.js';

const tail = ['-i', '/w/out.mkv', '-map', '0:v:0', '-map', '0:a?', '-f', 'null', '-'];
const head = [
  '-hide_banner',
  '-nostdin',
  '-v',
  'error',
  '-nostats',
  '-progress',
  'pipe:1',
  '-stats_period',
  '5',
];

describe('decode pass argument lists (golden)', () => {
  it('decodes in software with one frame thread per core', () => {
    assert.deepEqual(decodePassArgs('software', '/w/out.mkv'), [...head, '-threads', '0', ...tail]);
  });
  it('decodes on CUDA, frames kept on the device', () => {
    assert.deepEqual(decodePassArgs('cuda', '/w/out.mkv'), [
      ...head,
      '-hwaccel',
      'cuda',
      '-hwaccel_output_format',
      'cuda',
      ...tail,
    ]);
  });
  it('decodes on QSV through a named device', () => {
    assert.deepEqual(decodePassArgs('qsv', '/w/out.mkv'), [
      ...head,
      '-init_hw_device',
      'qsv=hw',
      '-hwaccel',
      'qsv',
      '-hwaccel_device',
      'hw',
      '-hwaccel_output_format',
      'qsv',
      ...tail,
    ]);
  });
  it('decodes on VAAPI through the render node the encoder uses', () => {
    assert.deepEqual(decodePassArgs('vaapi', '/w/out.mkv'), [
      ...head,
      '-hwaccel',
      'vaapi',
      '-hwaccel_device',
      '/dev/dri/renderD128',
      '-hwaccel_output_format',
      'vaapi',
      ...tail,
    ]);
  });
  it('trial-decodes three frames on each device', () => {
    for (const device of ['cuda', 'qsv', 'vaapi'] as const) {
      assert.deepEqual(trialDecodeArgs(device, '/w/out.mkv'), [
        '-hide_banner',
        '-nostdin',
        '-v',
        'error',
        ...DEVICE_INPUT_ARGS[device],
        '-i',
        '/w/out.mkv',
        '-map',
        '0:v:0',
        '-frames:v',
        '3',
        '-f',
        'null',
        '-',
      ]);
    }
  });
});

describe('decode device choice', () => {
  it('maps each GPU encoder to its device and CPU encoders to none', () => {
    assert.equal(encoderDevice('hevc_nvenc'), 'cuda');
    assert.equal(encoderDevice('av1_qsv'), 'qsv');
    assert.equal(encoderDevice('h264_vaapi'), 'vaapi');
    assert.equal(encoderDevice('libx265'), null);
    assert.equal(encoderDevice('copy'), null);
  });
  it('decodes a 4:2:0 HEVC output of NVENC on CUDA', () => {
    assert.deepEqual(deviceVerdict('hevc_nvenc', { codec: 'hevc', pixFmt: 'yuv420p10le' }), {
      device: 'cuda',
    });
  });
  it('says why it decodes in software', () => {
    assert.deepEqual(deviceVerdict('libx265', { codec: 'hevc', pixFmt: 'yuv420p' }), {
      device: 'software',
      reason: 'software decode (libx265 encodes on the CPU)',
    });
    assert.deepEqual(deviceVerdict('copy', { codec: 'hevc', pixFmt: 'yuv420p' }), {
      device: 'software',
      reason: 'software decode (the video was copied, not encoded)',
    });
    assert.deepEqual(deviceVerdict('hevc_nvenc', { codec: 'hevc', pixFmt: 'yuv444p' }), {
      device: 'software',
      reason: 'software decode: cuda does not decode hevc in yuv444p',
    });
    assert.deepEqual(deviceVerdict('h264_qsv', { codec: 'h264', pixFmt: 'yuv420p10le' }), {
      device: 'software',
      reason: 'software decode: qsv does not decode h264 in yuv420p10le',
    });
    assert.deepEqual(deviceVerdict('hevc_vaapi', null), {
      device: 'software',
      reason: 'software decode: vaapi does not decode unknown',
    });
  });
});

describe('frame count', () => {
  it('reads the last frame figure of ffmpeg’s progress output', () => {
    const out =
      'frame=1\nfps=0.0\nprogress=continue\nframe=321\nprogress=continue\nframe=500\nprogress=end\n';
    assert.equal(parseProgressFrames(out), 500);
    assert.equal(parseProgressFrames(''), null);
  });
  it('allows three frames, or 0.01 % of a long film', () => {
    assert.equal(frameToleranceFor(500), 3);
    assert.equal(frameToleranceFor(172_800), 17);
  });
  it('counts the source’s packets from its first keyframe on', () => {
    // A recording cut mid-GOP: two packets no decoder can show, then a GOP.
    const listed = videoPacketsOf('0.1,__\n0.2,__\n0.3,K_\n0.4,__\n0.5,__\n0.6,K_\n0.7,__\n');
    assert.equal(packetsFromKeyframe(listed), 5);
    assert.equal(packetsFromKeyframe(videoPacketsOf('0.1,__\n0.2,__\n')), null);
    assert.equal(packetsFromKeyframe(videoPacketsOf('')), null);
    // MPEG-TS: each packet's (empty) side data section is a line of its own.
    const ts = videoPacketsOf('1.48,K_,\n\n1.52,__,\n\nN/A,__,\n\n');
    assert.deepEqual(ts, [
      { ptsSec: 1.48, key: true },
      { ptsSec: 1.52, key: false },
      { ptsSec: null, key: false },
    ]);
  });
  it('passes the source’s count within tolerance, with measured and limit', () => {
    assert.deepEqual(frameCountCheck(500, 499, false), {
      name: 'frame-count',
      passed: true,
      measured: 499,
      limit: '500±3',
    });
  });
  it('fails an output that lost frames, or reported none', () => {
    assert.equal(frameCountCheck(500, 496, false).passed, false);
    assert.equal(frameCountCheck(500, null, false).passed, false);
    assert.deepEqual(frameCountCheck(null, 500, false), {
      name: 'frame-count',
      passed: false,
      measured: 500,
      limit: 'source frame count unknown',
    });
  });
  it('counts a field-coded source’s packets as field pairs only when the plan deinterlaces', () => {
    assert.deepEqual(frameCountCheck(1000, 500, true), {
      name: 'frame-count',
      passed: true,
      measured: 500,
      limit: '500±3 (source fields as packets)',
    });
    assert.equal(frameCountCheck(1000, 500, false).passed, false);
    assert.equal(frameCountCheck(500, 500, true).limit, '500±3');
  });
});
