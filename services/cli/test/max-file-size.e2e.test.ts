import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  EventPublisher,
  eventually,
  lastEventOf,
  openNodeRegistry,
  startTestBus,
  unservedWork,
  workBacklog,
  type TestBus,
} from '@conform/bus';
import { sampleData } from '@conform/contracts';
import { generateClip } from '@conform/media';
import { conformBin, runConform, type ConformProcess } from './run-conform.js';

// Two encoder processes, one limited to 2 GiB. Plans claim their source sizes (the encoder
// routes by the planned size); the clips themselves are tiny.
const GiB = 1024 ** 3;

let t: TestBus;
let library: string;
const procs: ConformProcess[] = [];
const encoder = (node: string, ...flags: string[]) => {
  const proc = runConform(
    ['run', 'encoder', '--nats', t.server.url, '--encoder', 'libx265', '--slots', '1', ...flags],
    { CONFORM_NODE: node },
  );
  procs.push(proc);
  return proc;
};

before(async () => {
  t = await startTestBus('max-file-size-e2e');
  library = await mkdtemp(join(tmpdir(), 'conform-maxsize-'));
  await Promise.all(
    ['small', 'big'].map((n) => generateClip({ path: join(library, `${n}.mkv`), durationSec: 1 })),
  );
});
after(async () => {
  for (const p of procs) {
    p.child.kill('SIGTERM');
    await Promise.race([p.exited, new Promise((r) => setTimeout(r, 10_000))]);
    p.kill();
  }
  await t.cleanup();
  await rm(library, { recursive: true, force: true });
});

describe('a maximum file size per encoder node', () => {
  it('a bad --max-file-size or CONFORM_MAX_FILE_SIZE is a usage error naming it', () => {
    const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      spawnSync(
        process.execPath,
        [conformBin, 'run', 'encoder', '--nats', 'nats://127.0.0.1:1', ...args],
        {
          encoding: 'utf8',
          env: { ...process.env, NATS_URL: '', ...env },
        },
      );
    const flag = run(['--max-file-size', '10 parsecs']);
    assert.equal(flag.status, 2);
    assert.match(
      flag.stderr,
      /--max-file-size must be a size such as 8G, 500M, 1\.5T or a number of bytes .*got "10 parsecs"/,
    );
    const env = run([], { CONFORM_MAX_FILE_SIZE: '-3G' });
    assert.equal(env.status, 2);
    assert.match(env.stderr, /CONFORM_MAX_FILE_SIZE must be a size such as .*got "-3G"/);
  });

  it('files above the limit go to the node without one; until it runs they show as unserved', async () => {
    const limited = encoder('limited', '--max-file-size', '2G');
    await limited.waitForLog('service started', 60_000);
    const publisher = new EventPublisher(t.bus.js, { producer: 'planner@test' });
    const plan = (fileId: string, size: number) =>
      publisher.emit(
        {
          type: 'file.planned',
          data: {
            ...sampleData['file.planned'],
            library,
            path: join(library, `${fileId}.mkv`),
            source: { size, mtimeMs: 1 },
            target: { videoCodec: 'hevc', container: 'mkv' },
            durationSec: 1,
          },
        },
        { fileId },
      );
    await plan('small', 500 * 1024 ** 2);
    await plan('big', 3 * GiB);

    await eventually(() => lastEventOf(t.bus, 'encode.completed', 'small'), {
      what: 'the small file encoded',
      timeoutMs: 90_000,
    });
    // Both processes publish as encoder@<host>: their own logs say which one encoded what. The
    // encoder logs the line after publishing encode.completed, so it may arrive just after it.
    const encodedBy = (p: ConformProcess, fileId: string) =>
      p.logs.some((l) => l.msg === 'encoded' && l.path === join(library, `${fileId}.mkv`));
    await eventually(() => encodedBy(limited, 'small') || null, {
      what: 'the limited node to log the encode of the small file',
    });

    // The limited node says its limit; the big file waits in the 4g class, reported unserved.
    const registry = await openNodeRegistry(t.bus, { create: false });
    const beats = (await registry.list()).flatMap((e) => (e.ok ? [e.heartbeat] : []));
    const mine = beats.find((b) => b.node === 'limited');
    assert.equal(mine?.maxFileSizeBytes, 2 * GiB);
    assert.deepEqual(mine?.sizeClasses, ['1g']);
    const unserved = await eventually(
      async () => {
        const rows = unservedWork(
          await workBacklog(t.bus),
          beats.map((b) => ({ ...b, lost: false })),
        );
        return rows.length ? rows : null;
      },
      { what: 'the big file reported unserved' },
    );
    assert.deepEqual(
      unserved.map((u) => [u.pool, u.sizeClass, u.jobs]),
      [['cpu-hevc', '4g', 1]],
    );
    assert.match(
      unserved[0]!.why,
      /no live node of pool cpu-hevc takes files up to 4\.0 GiB \(the largest --max-file-size is 2\.0 GiB\)/,
    );
    assert.equal(await lastEventOf(t.bus, 'encode.started', 'big'), null);

    // A node without a limit takes it.
    const any = encoder('any');
    await any.waitForLog('service started', 60_000);
    await eventually(() => lastEventOf(t.bus, 'encode.completed', 'big'), {
      what: 'the big file encoded',
      timeoutMs: 90_000,
    });
    await eventually(() => encodedBy(any, 'big') || null, { what: 'the log line of the encode' });
    assert.ok(!encodedBy(limited, 'big'), 'the limited node never took the big file');
  });
});
