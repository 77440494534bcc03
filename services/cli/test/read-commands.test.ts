import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { FileRow } from '@conform/projections';
import { formatFiles } from '../src/commands/ls.js';
import { summaryHead } from '../src/commands/status.js';
import { conformBin } from './run-conform.js';

const row = (over: Partial<FileRow>): FileRow => ({
  fileId: 'f1',
  path: '/media/movies/Film.mkv',
  library: '/media/movies',
  status: 'replaced',
  lastEventType: 'file.replaced',
  lastEventId: 'e1',
  lastSequence: 7,
  updatedAt: '2026-01-01T00:00:00.000Z',
  policyVersion: 'p1',
  reason: null,
  bytesSaved: 600_000,
  archivePath: '/archive/Film.mkv',
  media: { container: 'matroska', videoCodec: 'h264', width: 1920, height: 1080, durationSec: 60 },
  sizeBytes: 1_500_000_000,
  ...over,
});

describe('read commands', () => {
  it('ls prints status, codec, resolution, size, saving and path, then the page of the total', () => {
    const text = formatFiles(
      [
        row({}),
        row({
          fileId: 'f2',
          path: '/media/movies/New.mkv',
          status: 'probed',
          bytesSaved: null,
          media: {
            container: null,
            videoCodec: null,
            width: null,
            height: null,
            durationSec: null,
          },
          sizeBytes: null,
        }),
      ],
      12,
      4,
    );
    const lines = text.trimEnd().split('\n');
    assert.match(
      lines[0]!,
      /^replaced\s+h264\s+1920x1080\s+1\.5 GB\s+-600 KB {2}\/media\/movies\/Film\.mkv$/,
    );
    assert.match(lines[1]!, /^probed\s+-\s+-\s+-\s+\/media\/movies\/New\.mkv$/);
    assert.equal(lines[2], '5-6 of 12 files');
    assert.equal(formatFiles([], 0, 0), '0 of 0 files\n');
  });

  it('the summary head names totals and counts per status', () => {
    const [first, second] = summaryHead({
      total: 3,
      counts: { compliant: 2, failed: 1 },
      compliance: { percent: 66.7, conforming: 2, judged: 3 },
      bytesSaved: 3 * 1024 * 1024,
      queueDepth: 0,
      deadLetters: 0,
      activeEncodes: [],
      libraries: [],
    });
    assert.equal(
      first,
      'files 3   compliance 66.7% (2/3)   saved 3.0 MiB   queued 0   dead letters 0',
    );
    assert.equal(second, 'compliant 2, failed 1');
  });

  it('--version prints the package version; bad ls and watch flags are usage errors', () => {
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as {
      version: string;
    };
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [conformBin, ...args], { encoding: 'utf8' });
    const version = run('--version');
    assert.equal(version.status, 0);
    assert.equal(version.stdout.trim(), pkg.version);
    const badStatus = run('ls', '--status', 'bogus');
    assert.equal(badStatus.status, 2);
    assert.match(badStatus.stderr, /--status must be one of .*queued.*got "bogus"/);
    const badSort = run('ls', '--sort', 'colour');
    assert.equal(badSort.status, 2);
    assert.match(badSort.stderr, /--sort must be one of path, status, size, saved, updated/);
    const badInterval = run('status', '--watch', '--interval', '5');
    assert.equal(badInterval.status, 2);
    assert.match(badInterval.stderr, /--interval must be a whole number of ms ≥ 100, got "5"/);
  });
});
