import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EventPublisher, eventually, lastEventOf, startTestBus, type TestBus } from '@conform/bus';
import { sampleData, type EventEnvelope } from '@conform/contracts';
import { generateClip } from '@conform/media';
import { runConform, type ConformProcess } from './run-conform.js';

// Two encoder processes whose library is one directory reached through different paths (each
// a symlinked root, as two machines mounting one NAS share at different places). The events
// carry the watcher's canonical path, which exists on neither "machine": only the path map
// gets them to the files.

let t: TestBus;
let root: string;
const procs: ConformProcess[] = [];
before(async () => {
  t = await startTestBus('path-map-e2e');
  root = await mkdtemp(join(tmpdir(), 'conform-pathmap-'));
});
after(async () => {
  for (const p of procs) {
    p.child.kill('SIGTERM');
    await Promise.race([p.exited, new Promise((r) => setTimeout(r, 10_000))]);
    p.kill();
  }
  await t.cleanup();
  await rm(root, { recursive: true, force: true });
});

describe('path-mapped encoder nodes', () => {
  it('two encoders reach one library through different paths; events stay canonical', async () => {
    const real = join(root, 'share');
    const canonical = join(root, 'watcher-view', 'movies'); // never created
    await mkdir(real);
    await symlink(real, join(root, 'node-a'));
    await symlink(real, join(root, 'node-b'));
    const names = ['p1', 'p2', 'p3', 'p4'];
    await Promise.all(
      names.map((n) => generateClip({ path: join(real, `${n}.mkv`), durationSec: 1 })),
    );

    for (const node of ['node-a', 'node-b']) {
      const proc = runConform(
        [
          'run',
          'encoder',
          '--nats',
          t.server.url,
          '--encoder',
          'libx265',
          '--slots',
          '1',
          '--path-map',
          `${canonical}=${join(root, node)}`,
        ],
        { CONFORM_NODE: node },
      );
      procs.push(proc);
      await proc.waitForLog('service started');
    }

    const publisher = new EventPublisher(t.bus.js, { producer: 'planner@test' });
    for (const n of names) {
      await publisher.emit(
        {
          type: 'file.planned',
          data: {
            ...sampleData['file.planned'],
            library: canonical,
            path: join(canonical, `${n}.mkv`),
            target: { videoCodec: 'hevc', container: 'mkv' },
            durationSec: 1,
          },
        },
        { fileId: n },
      );
    }
    const completed = await eventually(
      async () => {
        const all = await Promise.all(names.map((n) => lastEventOf(t.bus, 'encode.completed', n)));
        return all.every(Boolean)
          ? all.map((l) => l!.event as EventEnvelope<'encode.completed'>)
          : null;
      },
      { what: 'every clip encoded', timeoutMs: 120_000 },
    );
    for (const e of completed) {
      assert.equal(e.data.library, canonical);
      assert.ok(e.data.path.startsWith(`${canonical}/`), e.data.path);
      assert.ok(e.data.outputPath.startsWith(`${canonical}/.conform-work/`), e.data.outputPath);
      // The output is where the canonical path points, through the share.
      const onShare = join(real, e.data.outputPath.slice(canonical.length));
      assert.ok((await stat(onShare)).size > 0, `${onShare} exists`);
    }
    // Each node worked in its own view of the share.
    const [a, b] = procs;
    const encodedUnder = (p: ConformProcess, node: string) =>
      p.logs.filter(
        (l) => l.msg === 'encoded' && String(l.path).startsWith(join(root, node) + '/'),
      );
    assert.ok(encodedUnder(a!, 'node-a').length > 0, 'node-a encoded through its path');
    assert.ok(encodedUnder(b!, 'node-b').length > 0, 'node-b encoded through its path');
    assert.equal(
      encodedUnder(a!, 'node-a').length + encodedUnder(b!, 'node-b').length,
      names.length,
    );
  });

  it('a node whose mapped library is not there exits naming it, and pulls nothing', async () => {
    const missing = join(root, 'not-mounted');
    const own = await startTestBus('path-map-missing'); // fresh: no consumer exists yet
    try {
      const proc = runConform([
        'run',
        'encoder',
        '--nats',
        own.server.url,
        '--encoder',
        'libx265',
        '--path-map',
        `/media/movies=${missing}`,
      ]);
      procs.push(proc);
      const code = await proc.exited;
      assert.notEqual(code, 0);
      assert.match(
        proc.stderr(),
        /start-up check failed for \/media\/movies \(seen here as .*not-mounted through --path-map \/media\/movies=.*not-mounted\): not reachable \(ENOENT\)/,
      );
      // It never bound anything: neither its plan router nor its pool's work queue exists.
      await assert.rejects(
        own.bus.jsm.consumers.info('CONFORM_EVENTS', 'router-file-planned'),
        /not found/,
      );
      await assert.rejects(
        own.bus.jsm.consumers.info('CONFORM_WORK', 'encoder-work-cpu-hevc-any'),
        /not found/,
      );
    } finally {
      await own.cleanup();
    }
  });
});
