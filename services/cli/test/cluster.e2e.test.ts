import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  EVENT_LOG_STREAM,
  connectBus,
  eventually,
  startTestCluster,
  type Bus,
  type ClusterNode,
  type TestCluster,
} from '@conform/bus';
import { generateClip, probeMedia } from '@conform/media';
import { runConform, sha256, upArgs } from './run-conform.js';

// The whole flow on a real 3-node NATS cluster (R3 log and consumers), with a server killed
// mid-flow (SIGKILL, restarted later): every clip ends HEVC, every original is archived byte
// for byte, no file is swapped twice, and the read model lists every file as replaced.

const CLIPS = ['c1', 'c2', 'c3', 'c4'];
type FileItem = {
  path: string;
  status: string;
  bytesSaved: number | null;
  archivePath: string | null;
};

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conform-cluster-e2e-'));
});
after(async () => rm(dir, { recursive: true, force: true }));

/** Subjects of `type` events in the log and how many each holds. */
async function subjectCounts(bus: Bus, type: string): Promise<Record<string, number>> {
  const info = await bus.jsm.streams.info(EVENT_LOG_STREAM, {
    subjects_filter: `conform.evt.${type}.*`,
  });
  return info.state.subjects ?? {};
}

async function runBatch(
  name: string,
  victimOf: (cluster: TestCluster) => Promise<ClusterNode>,
): Promise<{ victim: string; recoveredMs: number; totalMs: number }> {
  const root = join(dir, name);
  await mkdir(join(root, 'library'), { recursive: true });
  const hashes = new Map<string, string>();
  for (const c of CLIPS) {
    const path = join(root, 'library', `${c}.mp4`);
    await generateClip({ path, durationSec: 1, width: 160, height: 120, videoCodec: 'h264' });
    hashes.set(c, await sha256(path));
  }
  const cluster = await startTestCluster(3);
  const bus = await connectBus({ servers: cluster.servers, name: `${name}-observer` });
  const started = Date.now();
  const conform = runConform([...upArgs(root), '--nats', cluster.servers, '--replicas', '3'], {
    CONFORM_ENCODER_RETRY_DELAY_MS: '2000',
  });
  try {
    const status = await conform.waitForLog('status server listening', 60_000);
    const url = String(status.url);
    const info = await bus.jsm.streams.info(EVENT_LOG_STREAM);
    assert.equal(info.config.num_replicas, 3, 'the log is R3');

    // Mid-flow: once the first encode has started, and before the batch is through.
    await eventually(
      async () => Object.keys(await subjectCounts(bus, 'encode.started')).length > 0,
      {
        timeoutMs: 90_000,
        what: 'the first encode to start',
      },
    );
    const replacedBefore = Object.keys(await subjectCounts(bus, 'file.replaced')).length;
    assert.ok(replacedBefore < CLIPS.length, 'the kill lands mid-flow');
    const victim = await victimOf(cluster);
    console.log(
      `# ${name}: killing ${victim.name} with ${replacedBefore} of ${CLIPS.length} replaced`,
    );
    await victim.kill();
    const killedAt = Date.now();
    await sleep(3_000);
    await victim.restart();

    const files = await eventually(
      async () => {
        const list = (await (await fetch(`${url}/api/files`)).json()) as FileItem[];
        // After the swap the watcher sees the new file and the planner finds it compliant.
        const done = (f: FileItem) =>
          ['replaced', 'compliant'].includes(f.status) &&
          f.archivePath !== null &&
          (f.bytesSaved ?? 0) > 0;
        return list.length === CLIPS.length && list.every(done) ? list : null;
      },
      { timeoutMs: 240_000, intervalMs: 500, what: 'every clip replaced in the read model' },
    );
    const totalMs = Date.now() - started;
    console.log(`# ${name}: read model complete`);
    const recoveredMs = Date.now() - killedAt;
    assert.deepEqual(
      files.map((f) => f.path).sort(),
      CLIPS.map((c) => join(root, 'library', `${c}.mp4`)).sort(),
    );
    for (const c of CLIPS) {
      const media = await probeMedia(join(root, 'library', `${c}.mp4`));
      assert.equal(media.video?.codec, 'hevc', `${c} is HEVC`);
      assert.equal(
        await sha256(join(root, 'archive', `${c}.mp4`)),
        hashes.get(c),
        `${c} archived intact`,
      );
    }
    // No stray output of a repeated encode is left behind.
    assert.deepEqual(await readdir(join(root, 'library', '.conform-work')), []);
    const replaced = await subjectCounts(bus, 'file.replaced');
    assert.equal(Object.keys(replaced).length, CLIPS.length);
    for (const [subject, count] of Object.entries(replaced)) {
      assert.equal(count, 1, `${subject} swapped once`);
    }
    assert.deepEqual(
      (await readdir(join(root, 'archive'))).sort(),
      CLIPS.map((c) => `${c}.mp4`).sort(),
    );

    console.log(`# ${name}: checks passed, stopping conform`);
    conform.child.kill('SIGTERM');
    assert.equal(await conform.exited, 0, conform.stderr().slice(-2000));
    return { victim: victim.name, recoveredMs, totalMs };
  } finally {
    conform.kill();
    await bus.close();
    await cluster.cleanup();
  }
}

describe('conform on a 3-node NATS cluster', () => {
  it('survives a server SIGKILLed mid-flow and restarted', { timeout: 400_000 }, async () => {
    // Not the leader on purpose (the next test kills that one): a plain replica and route.
    const figures = await runBatch('replica-killed', async (cluster) => {
      const leader = await cluster.streamLeader(EVENT_LOG_STREAM);
      return cluster.nodes.find((n) => n.name !== leader?.name)!;
    });
    console.log(
      `# replica ${figures.victim} killed: batch of ${CLIPS.length} done ${figures.recoveredMs} ms after the kill, ${figures.totalMs} ms in all`,
    );
  });

  it('survives the stream leader SIGKILLed mid-flow', { timeout: 400_000 }, async () => {
    const figures = await runBatch('leader-killed', async (cluster) => {
      const leader = await eventually(() => cluster.streamLeader(EVENT_LOG_STREAM), {
        what: 'the stream leader',
      });
      return leader;
    });
    console.log(
      `# leader ${figures.victim} killed: batch of ${CLIPS.length} done ${figures.recoveredMs} ms after the kill, ${figures.totalMs} ms in all`,
    );
  });
});
