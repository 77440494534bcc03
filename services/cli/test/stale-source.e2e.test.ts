import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually } from '@conform/bus';
import { WORK_DIR_NAME, type EventEnvelope } from '@conform/contracts';
import { generateClip, probeMedia } from '@conform/media';
import { findProcesses, runConform, upArgs, sha256 } from './run-conform.js';

// Invariant 2 end to end: a source replaced while its encode runs is never overwritten by an
// encode of the old content; the new content is planned, encoded and swapped in instead.

type FileItem = { fileId: string; path: string; status: string };
type FileDetail = FileItem & { events: { sequence: number; event: EventEnvelope }[] };

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conform-e2e-stale-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('conform up with a source modified during its encode', () => {
  it(
    'discards the stale encode, re-plans, and swaps in an encode of the new content',
    { timeout: 420_000 },
    async () => {
      const root = join(dir, 'stale');
      await mkdir(join(root, 'library', 'Shows'), { recursive: true });
      // The first version is long enough to still be encoding when it is replaced; the second
      // is short and of another duration, so the final file shows which one it came from.
      const first = join(root, 'first.mkv');
      const second = join(root, 'second.mkv');
      await generateClip({ path: first, durationSec: 25, width: 640, height: 360 });
      await generateClip({ path: second, durationSec: 3, width: 320, height: 240 });
      const secondHash = await sha256(second);
      const secondDuration = (await probeMedia(second)).durationSec;
      assert.ok(secondDuration && secondDuration < 5, `second clip lasts ${secondDuration}`);

      const conform = runConform(upArgs(root));
      try {
        const url = String((await conform.waitForLog('status server listening')).url);
        const path = join(root, 'library', 'Shows', 'Episode.mkv');
        const firstSize = (await stat(first)).size;
        await rename(first, path);
        // The encoder's ffmpeg is the one writing into the work folder: the planner runs ffmpeg
        // on the source too (health check, idet sample), and that is not the encode.
        const workDir = join(root, 'library', WORK_DIR_NAME);
        await eventually(async () => (await findProcesses('ffmpeg', workDir)).at(0), {
          timeoutMs: 120_000,
          intervalMs: 100,
          what: 'ffmpeg encoding the first version',
        });
        // A download finishing over the old file: a new inode, size and mtime at the path.
        await rename(second, path);

        const detail = await eventually(
          async () => {
            const files = (await (await fetch(`${url}/api/files`)).json()) as FileItem[];
            const item = files.find((f) => f.path === path);
            if (!item) return null;
            const d = (await (await fetch(`${url}/api/files/${item.fileId}`)).json()) as FileDetail;
            return d.events.some((e) => e.event.type === 'file.replaced') ? d : null;
          },
          { timeoutMs: 400_000, intervalMs: 1_000, what: 'the file replaced' },
        );
        const events = detail.events.map((e) => e.event);
        const types = events.map((e) => e.type);
        const at = (type: EventEnvelope['type']) => types.indexOf(type);

        assert.ok(at('file.changed') > at('encode.started'), `file.changed after: ${types}`);
        assert.equal(types.filter((t) => t === 'file.replaced').length, 1, String(types));
        // The source changed before the first encode completed, so the verifier sees the change
        // and discards that output; the archiver's stale check stays as the last line behind it.
        const firstOutput = events.find((e) => e.type === 'encode.started')?.data as {
          outputPath: string;
        };
        const staleVerdict = events.find(
          (e) => e.type === 'verify.failed' && e.data.outputPath === firstOutput.outputPath,
        );
        assert.deepEqual(
          staleVerdict?.type === 'verify.failed' && staleVerdict.data.checks.map((c) => c.name),
          ['source-unchanged'],
          `first encode not discarded as stale: ${types}`,
        );
        for (const e of events) {
          if (e.type === 'verify.passed' || e.type === 'file.replaced') {
            assert.notEqual(
              e.type === 'verify.passed' ? e.data.source.size : e.data.originalSize,
              firstSize,
              `${e.type} for the first version`,
            );
          }
        }
        const replanned = events.filter((e) => e.type === 'file.planned');
        assert.ok(replanned.length >= 2, `planned again after the change: ${types}`);
        assert.ok(
          types.lastIndexOf('file.planned') > at('file.changed'),
          `planned after the change: ${types}`,
        );

        const media = await probeMedia(path);
        assert.equal(media.video?.codec, 'hevc');
        assert.ok(
          Math.abs((media.durationSec ?? 0) - secondDuration) < 0.2,
          `final file lasts ${media.durationSec}s, the new clip ${secondDuration}s`,
        );
        assert.equal(await sha256(join(root, 'archive', 'Shows', 'Episode.mkv')), secondHash);
        const work = await readdir(join(root, 'library', '.conform-work')).catch(() => []);
        assert.deepEqual(work, [], 'no output left in the work directory');

        conform.child.kill('SIGTERM');
        assert.equal(await conform.exited, 0, conform.stderr());
      } finally {
        conform.kill();
      }
    },
  );
});
