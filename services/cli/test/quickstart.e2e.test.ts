import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually } from '@conform/bus';
import { generateClip, probeMedia } from '@conform/media';
import {
  findProcesses,
  processAlive,
  runConform,
  upArgs,
  upMidEncode,
  sha256,
} from './run-conform.js';

// The quick start, end to end, through the real binary and the embedded nats-server.

type FileItem = { path: string; status: string };

async function filesAt(url: string): Promise<FileItem[]> {
  return (await (await fetch(`${url}/api/files`)).json()) as FileItem[];
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conform-e2e-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('conform up', () => {
  it(
    'turns a dropped H.264 clip into HEVC, archives the original byte for byte and lists it; SIGTERM stops everything',
    { timeout: 180_000 },
    async () => {
      const root = join(dir, 'quickstart');
      await mkdir(join(root, 'library', 'Movies'), { recursive: true });
      const conform = runConform(upArgs(root), { CONFORM_CONTROL_TOKEN: 'e2e-token' });
      try {
        const status = await conform.waitForLog('status server listening');
        const nats = await conform.waitForLog('embedded nats-server started');
        const url = String(status.url);

        // Written elsewhere, then moved in: how a finished download arrives.
        const staged = join(root, 'staged.mp4');
        await generateClip({
          path: staged,
          durationSec: 2,
          width: 320,
          height: 240,
          videoCodec: 'h264',
          audioTracks: 1,
          subtitles: true,
        });
        const originalHash = await sha256(staged);
        const inLibrary = join(root, 'library', 'Movies', 'Clip One.mp4');
        await rename(staged, inLibrary);

        await eventually(
          async () =>
            (await filesAt(url)).find(
              (f) => f.path === inLibrary && ['replaced', 'compliant'].includes(f.status),
            ),
          { timeoutMs: 150_000, intervalMs: 500, what: 'the clip replaced and listed' },
        );
        const media = await probeMedia(inLibrary);
        assert.equal(media.video?.codec, 'hevc');
        assert.equal(media.audioStreams, 1);
        assert.equal(media.subtitleStreams, 1);
        assert.equal(await sha256(join(root, 'archive', 'Movies', 'Clip One.mp4')), originalHash);
        const summary = (await (await fetch(`${url}/api/summary`)).json()) as { total: number };
        assert.ok(summary.total >= 1);

        // Every service in this process counts into /metrics.
        const metrics = await (await fetch(`${url}/metrics`)).text();
        assert.match(
          metrics,
          /conform_events_published_total\{[^}]*type="file\.replaced"[^}]*\} 1/,
        );
        assert.match(
          metrics,
          /conform_events_consumed_total\{[^}]*service="archiver"[^}]*\} [1-9]/,
        );

        // Control needs the token the operator configured.
        const pause = (auth?: string) =>
          fetch(`${url}/api/control/pause`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              ...(auth ? { authorization: auth } : {}),
            },
            body: '{}',
          });
        assert.equal((await pause()).status, 401);
        assert.equal((await pause('Bearer wrong')).status, 401);
        assert.equal((await pause('Bearer e2e-token')).status, 202);

        conform.child.kill('SIGTERM');
        assert.equal(await conform.exited, 0, conform.stderr());
        await conform.waitForLog('stopped cleanly', 1_000);
        assert.equal(processAlive(Number(nats.pid)), false, 'embedded nats-server is gone');
      } finally {
        conform.kill();
      }
    },
  );

  it(
    'on SIGINT mid-encode kills ffmpeg, removes the partial output and leaves the original untouched',
    { timeout: 180_000 },
    async () => {
      const root = join(dir, 'interrupted');
      const { conform, nats, ffmpeg, source, originalHash } = await upMidEncode(root, {
        clip: { videoCodec: 'h264', audioTracks: 1 },
        timeoutMs: 60_000,
      });
      try {
        conform.child.kill('SIGINT');
        assert.equal(await conform.exited, 0, conform.stderr());
        assert.equal(processAlive(ffmpeg), false, 'ffmpeg was killed');
        assert.deepEqual(await findProcesses('ffmpeg', root), []);
        assert.equal(processAlive(Number(nats.pid)), false, 'embedded nats-server is gone');
        const work = await readdir(join(root, 'library', '.conform-work')).catch(() => []);
        assert.deepEqual(work, [], 'no partial output left in the work directory');
        assert.equal(await sha256(source), originalHash);
      } finally {
        conform.kill();
      }
    },
  );
});
