import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatNodes } from '../src/commands/status.js';

describe('conform status: nodes and unserved work', () => {
  it('prints each node with its limit, then the work no live node can take', () => {
    const lines = formatNodes({
      nodes: [
        {
          node: 'encoder@small',
          state: 'running',
          lost: false,
          paused: false,
          ageSec: 3,
          devices: [{ backend: 'cpu', slots: 1, inUse: 1 }],
          pools: ['cpu-hevc'],
          maxFileSizeBytes: 2 * 1024 ** 3,
        },
        {
          node: 'encoder@gpu',
          state: 'running',
          lost: true,
          paused: false,
          ageSec: 95,
          devices: [{ backend: 'nvenc', slots: 3, inUse: 0 }],
          pools: ['gpu-hevc', 'cpu-hevc'],
        },
      ],
      unserved: [
        {
          pool: 'cpu-hevc',
          sizeClass: '16g',
          jobs: 2,
          why: 'no live node of pool cpu-hevc takes files up to 16.0 GiB',
        },
      ],
    });
    assert.deepEqual(lines, [
      'nodes:',
      '  encoder@small  running  cpu 1/1  pools cpu-hevc  max file 2.0 GiB  beat 3 s ago',
      '  encoder@gpu  lost  nvenc 0/3  pools gpu-hevc,cpu-hevc  any file size  beat 95 s ago',
      'waiting for a node that can take them:',
      '  2 job(s) in cpu-hevc (16g): no live node of pool cpu-hevc takes files up to 16.0 GiB',
    ]);
    assert.deepEqual(formatNodes({ nodes: [] }), []);
  });
});
