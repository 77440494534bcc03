import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildEncodeArgs } from '../src/index.js';

const common = (out: string) => ({ inputPath: '/lib/in put.mp4', outputPath: out });
const head = ['-hide_banner', '-nostdin', '-y', '-i', '/lib/in put.mp4', '-map', '0:v:0'];
const maps = ['-map', '0:a?', '-map', '0:s?'];
const copies = ['-c:a', 'copy', '-c:s', 'copy', '-map_metadata', '0', '-map_chapters', '0'];
const queue = ['-max_muxing_queue_size', '1024'];
const x265 = [
  '-c:v',
  'libx265',
  '-preset',
  'fast',
  '-crf',
  '26',
  '-x265-params',
  'log-level=error',
];
const nvenc = ['-c:v', 'hevc_nvenc', '-preset', 'p5', '-rc', 'vbr', '-cq', '28', '-b:v', '0'];
const mp4 = ['-tag:v', 'hvc1', '-movflags', '+faststart', '-f', 'mp4'];

describe('buildEncodeArgs (golden)', () => {
  it('libx265 into mp4', () => {
    assert.deepEqual(
      buildEncodeArgs({ ...common('/w/o.mp4.partial'), encoder: 'libx265', container: 'mp4' }),
      [...head, ...maps, ...x265, ...copies, ...queue, ...mp4, '/w/o.mp4.partial'],
    );
  });

  it('libx265 into mkv', () => {
    assert.deepEqual(
      buildEncodeArgs({ ...common('/w/o.mkv.partial'), encoder: 'libx265', container: 'mkv' }),
      [...head, ...maps, ...x265, ...copies, ...queue, '-f', 'matroska', '/w/o.mkv.partial'],
    );
  });

  it('hevc_nvenc into mp4', () => {
    assert.deepEqual(
      buildEncodeArgs({ ...common('/w/o.mp4.partial'), encoder: 'hevc_nvenc', container: 'mp4' }),
      [...head, ...maps, ...nvenc, ...copies, ...queue, ...mp4, '/w/o.mp4.partial'],
    );
  });

  it('hevc_nvenc into mkv', () => {
    assert.deepEqual(
      buildEncodeArgs({ ...common('/w/o.mkv.partial'), encoder: 'hevc_nvenc', container: 'mkv' }),
      [...head, ...maps, ...nvenc, ...copies, ...queue, '-f', 'matroska', '/w/o.mkv.partial'],
    );
  });
});
