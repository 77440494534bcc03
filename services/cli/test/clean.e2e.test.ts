import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { sampleData } from '@conform/contracts';
import { EventPublisher, provisionEventLog, startTestBus, type TestBus } from '@conform/bus';
import { conformBin } from './run-conform.js';

const run = promisify(execFile);
let t: TestBus;
let base: string;
let library: string;
let config: string;

before(async () => {
  t = await startTestBus('cli-clean-test');
  await provisionEventLog(t.bus.jsm, { maxBytes: 64 * 1024 ** 2 });
  base = await mkdtemp(join(tmpdir(), 'conform-clean-'));
  library = join(base, 'library');
  await mkdir(join(library, '.conform-work'), { recursive: true });
  config = join(base, 'quality.yaml');
  await writeFile(
    config,
    `version: 1\nlibraries:\n  - root: ${library}\n    archive: ${join(base, 'archive')}\n    workRetentionHours: 24\n`,
  );
});
after(async () => {
  await t.cleanup();
  await rm(base, { recursive: true, force: true });
});

async function clean(...flags: string[]) {
  const { stdout } = await run(process.execPath, [
    conformBin,
    'clean',
    '--config',
    config,
    '--nats',
    t.server.url,
    '--json',
    ...flags,
  ]);
  return JSON.parse(stdout) as {
    dryRun: boolean;
    results: { action: { kind: string; path: string; why: string }; done: boolean }[];
  };
}

describe('conform clean', () => {
  it('lists with --dry-run, then removes, a failed verification’s output past workRetentionHours', async () => {
    const publisher = new EventPublisher(t.bus.js, { producer: 'verifier@test' });
    const work = join(library, '.conform-work');
    const old = join(work, 'failedfile-abcdefghijkl.mkv');
    const fresh = join(work, 'freshfile-abcdefghijkl.mkv');
    for (const [fileId, path] of [
      ['failedfile', old],
      ['freshfile', fresh],
    ] as const) {
      await writeFile(path, 'output bytes');
      await publisher.emit(
        {
          type: 'verify.failed',
          data: {
            ...sampleData['verify.failed'],
            library,
            path: join(library, `${fileId}.mkv`),
            outputPath: path,
          },
        },
        { fileId },
      );
    }
    const twoDaysAgo = new Date(Date.now() - 48 * 3_600_000);
    await utimes(old, twoDaysAgo, twoDaysAgo);

    const dry = await clean('--dry-run');
    assert.equal(dry.dryRun, true);
    assert.deepEqual(
      dry.results.map((r) => [r.action.kind, r.action.path, r.done]),
      [['remove-work-file', old, false]],
    );
    assert.match(dry.results[0]!.action.why, /run ended \(verify\.failed\) over 24 h ago/);
    await run('test', ['-f', old]); // still there after the dry run

    const real = await clean();
    assert.deepEqual(
      real.results.map((r) => [r.action.path, r.done]),
      [[old, true]],
    );
    await assert.rejects(run('test', ['-f', old]), 'the leftover is gone');
    await run('test', ['-f', fresh]); // younger than workRetentionHours: kept
  });
});
