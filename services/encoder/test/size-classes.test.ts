import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parseWorkSubject,
  sizeClassFor,
  sizeClassesServed,
  unservedWork,
  workSubjectFor,
} from '@conform/bus';
import { EncoderConfigError, parseFileSize, takenSizeClasses } from '../src/index.js';

const GiB = 1024 ** 3;

describe('size classes', () => {
  it('a job is in the smallest class its source fits', () => {
    assert.equal(sizeClassFor(1), '1g');
    assert.equal(sizeClassFor(GiB), '1g');
    assert.equal(sizeClassFor(GiB + 1), '4g');
    assert.equal(sizeClassFor(20 * GiB), '64g');
    assert.equal(sizeClassFor(65 * GiB), 'any');
    assert.equal(workSubjectFor('cpu-hevc', '4g', 'f1'), 'conform.work.cpu-hevc.4g.f1');
    assert.deepEqual(parseWorkSubject('conform.work.cpu-hevc.4g.f1'), {
      pool: 'cpu-hevc',
      sizeClass: '4g',
      fileId: 'f1',
    });
    assert.deepEqual(parseWorkSubject('conform.work.cpu-hevc.f1'), {
      pool: 'cpu-hevc',
      sizeClass: null,
      fileId: 'f1',
    });
  });

  it('a node takes the classes within its limit, rounded down; every class without one', () => {
    assert.deepEqual(sizeClassesServed(null), ['1g', '4g', '16g', '64g', 'any']);
    assert.deepEqual(sizeClassesServed(10 * GiB), ['1g', '4g']);
    assert.deepEqual(sizeClassesServed(4 * GiB), ['1g', '4g']);
    assert.deepEqual(takenSizeClasses(2 * GiB), ['1g']);
    assert.throws(
      () => takenSizeClasses(500 * 1024 ** 2),
      /500\.0 MiB .* is below the smallest size class, 1\.0 GiB: this node could take no work/,
    );
  });

  it('parses sizes in binary units, and says what it expects', () => {
    assert.equal(parseFileSize('K', '8G'), 8 * GiB);
    assert.equal(parseFileSize('K', '8 GiB'), 8 * GiB);
    assert.equal(parseFileSize('K', '1.5t'), 1.5 * 1024 * GiB);
    assert.equal(parseFileSize('K', '500MB'), 500 * 1024 ** 2);
    assert.equal(parseFileSize('K', '4294967296'), 4 * GiB);
    assert.equal(parseFileSize('K', ''), null);
    assert.equal(parseFileSize('K', undefined), null);
    for (const bad of ['G', '0', '-1G', '8X', '1e3', '8 G B']) {
      assert.throws(
        () => parseFileSize('CONFORM_MAX_FILE_SIZE', bad),
        (err: unknown) =>
          err instanceof EncoderConfigError &&
          err.key === 'CONFORM_MAX_FILE_SIZE' &&
          err.message.includes(`got "${bad}"`),
      );
    }
  });

  it('reports queued work no live node takes, by pool and by size', () => {
    const node = (over: object) => ({
      node: 'a',
      state: 'running' as const,
      lost: false,
      pools: ['cpu-hevc'],
      sizeClasses: ['1g'],
      maxFileSizeBytes: 2 * GiB,
      ...over,
    });
    const backlog = [
      { pool: 'cpu-hevc', sizeClass: '1g', jobs: 2 },
      { pool: 'cpu-hevc', sizeClass: '16g', jobs: 1 },
      { pool: 'gpu-hevc', sizeClass: '1g', jobs: 3 },
      { pool: 'cpu-hevc', sizeClass: null, jobs: 1 },
    ];
    const rows = unservedWork(backlog, [node({})]);
    assert.deepEqual(
      rows.map((r) => [r.pool, r.sizeClass, r.why]),
      [
        [
          'cpu-hevc',
          '16g',
          'no live node of pool cpu-hevc takes files up to 16.0 GiB (the largest --max-file-size is 2.0 GiB)',
        ],
        ['gpu-hevc', '1g', 'no live encoder node serves pool gpu-hevc'],
      ],
    );
    // A lost node serves nothing; a live unlimited one serves every class.
    assert.equal(unservedWork(backlog.slice(0, 1), [node({ lost: true })]).length, 1);
    const unlimited = node({
      sizeClasses: ['1g', '4g', '16g', '64g', 'any'],
      maxFileSizeBytes: undefined,
    });
    assert.deepEqual(unservedWork(backlog.slice(0, 2), [unlimited]), []);
  });
});
