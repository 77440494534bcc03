import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually } from '@conform/bus';
import type { EventEnvelope } from '@conform/contracts';
import { generateClip, readFfprobe, runFfmpeg } from '@conform/media';
import { runConform, sha256 } from './run-conform.js';
import { videoPacketsMd5, type OutStream } from './pipeline.js';

// A mixed library shaped like real ones, through `conform up` (every service, the embedded
// nats-server, the real ffmpeg): every file ends conformed correctly, or kept or damaged with
// its reason, and nothing is dropped silently.

type FileItem = { fileId: string; path: string; status: string; reason: string | null };
type FileDetail = FileItem & { events: { event: EventEnvelope }[] };

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conform-e2e-real-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function streamsOf(path: string): Promise<{ streams: OutStream[]; chapters?: unknown[] }> {
  return readFfprobe<{ streams: OutStream[]; chapters?: unknown[] }>(path);
}

describe('conform up on a mixed real-world library', () => {
  it(
    'conforms 4:4:4, interlaced, cover-art and font files correctly, remuxes a compliant one; keeps a no-saving file and marks a truncated one damaged',
    { timeout: 420_000 },
    async () => {
      const root = join(dir, 'mixed');
      const library = join(root, 'library');
      const staged = join(root, 'staged');
      await mkdir(library, { recursive: true });
      await mkdir(staged, { recursive: true });
      const config = join(root, 'quality.yaml');
      await writeFile(
        config,
        [
          'version: 1',
          'defaults:',
          '  minimum: { sizeMB: 0, durationSec: 0 }',
          '  audio: { keepLanguages: [eng] }',
          'libraries:',
          `  - root: ${library}`,
          `    archive: ${join(root, 'archive')}`,
          '',
        ].join('\n'),
      );

      // The files, made elsewhere and moved in, as finished downloads arrive.
      const made: Record<string, string> = {
        yuv444: join(staged, 'Screen Capture (444).mp4'),
        interlaced: join(staged, 'Broadcast (1080i).mkv'),
        cover: join(staged, 'Camera Clip.mp4'),
        fonts: join(staged, 'Anime S01E01.mkv'),
        lowBitrate: join(staged, 'Old DVD Rip.mkv'),
        truncated: join(staged, 'Broken Download.mp4'),
        remux: join(staged, 'Already HEVC (eng+fra).mkv'),
      };
      await generateClip({
        path: made.yuv444!,
        durationSec: 1,
        width: 321,
        height: 241,
        pixFmt: 'yuv444p',
      });
      await generateClip({
        path: made.interlaced!,
        durationSec: 1,
        mpeg2: true,
        interlaced: true,
        audioCodec: 'ac3',
      });
      await generateClip({
        path: made.cover!,
        durationSec: 2,
        coverArt: true,
        timecode: '01:00:00:00',
        chapters: true,
      });
      await generateClip({
        path: made.fonts!,
        durationSec: 1,
        fontAttachment: true,
        audioCodec: 'flac',
        subtitles: true,
      });
      // MPEG-2 at 100 kbit/s: HEVC at the policy's quality comes out bigger, so nothing is saved.
      await runFfmpeg([
        '-nostdin',
        '-y',
        '-v',
        'error',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=320x240:rate=25:duration=2',
        '-c:v',
        'mpeg2video',
        '-b:v',
        '100k',
        '-an',
        made.lowBitrate!,
      ]);
      await generateClip({ path: made.truncated!, durationSec: 6, faststart: true });
      await generateClip({ path: made.remux!, durationSec: 1, videoCodec: 'hevc', audioTracks: 2 });
      await truncate(made.truncated!, Math.floor(((await stat(made.truncated!)).size * 42) / 100));
      const hashes: Record<string, string> = {};
      for (const [k, p] of Object.entries(made)) hashes[k] = await sha256(p);

      const conform = runConform([
        'up',
        '--config',
        config,
        '--state-dir',
        join(root, 'state'),
        '--port',
        '0',
        '--stability-window',
        '1000',
        '--encoder',
        'libx265',
      ]);
      try {
        const url = String((await conform.waitForLog('status server listening')).url);
        const at: Record<string, string> = {};
        for (const [k, p] of Object.entries(made)) {
          at[k] = join(library, p.slice(staged.length + 1));
          await rename(p, at[k]!);
        }
        const final = [
          'replaced',
          'kept',
          'damaged',
          'failed',
          'skipped',
          'compliant',
          'dead-lettered',
        ];
        const files = await eventually(
          async () => {
            const list = (await (await fetch(`${url}/api/files?limit=100`)).json()) as FileItem[];
            const byKey = Object.fromEntries(
              Object.entries(at).map(([k, p]) => [
                k,
                list.find((f) => f.path === p || f.path === p.replace(/\.mp4$/, '.mp4')),
              ]),
            );
            return Object.values(byKey).every((f) => f && final.includes(f.status)) ? byKey : null;
          },
          { timeoutMs: 380_000, intervalMs: 1_000, what: 'every file of the library settled' },
        );
        // A replaced file is discovered again and found compliant: either is the conformed end.
        const statusOf = Object.fromEntries(
          Object.entries(files).map(([k, f]) => [
            k,
            f!.status === 'compliant' ? 'replaced' : f!.status,
          ]),
        );
        assert.deepEqual(statusOf, {
          yuv444: 'replaced',
          interlaced: 'replaced',
          cover: 'replaced',
          fonts: 'replaced',
          lowBitrate: 'kept',
          truncated: 'damaged',
          remux: 'replaced',
        });
        for (const k of ['yuv444', 'interlaced', 'cover', 'fonts', 'remux']) {
          const d = (await (
            await fetch(`${url}/api/files/${files[k]!.fileId}`)
          ).json()) as FileDetail;
          assert.ok(
            d.events.some((e) => e.event.type === 'file.replaced'),
            `${k} was replaced`,
          );
        }

        // Conformed correctly: what the plan decided is what the file now is.
        const v = (s: { streams: OutStream[] }) =>
          s.streams.find((x) => x.codec_type === 'video' && x.disposition?.attached_pic !== 1)!;
        const yuv444 = await streamsOf(at.yuv444!);
        assert.equal(v(yuv444).codec_name, 'hevc');
        assert.equal(v(yuv444).pix_fmt, 'yuv420p');
        assert.deepEqual([v(yuv444).width, v(yuv444).height], [320, 240]);
        const interlaced = await streamsOf(at.interlaced!);
        assert.equal(v(interlaced).field_order, 'progressive');
        assert.equal(interlaced.streams.find((s) => s.codec_type === 'audio')?.codec_name, 'ac3');
        const cover = await streamsOf(at.cover!);
        assert.equal(
          cover.streams.filter((s) => s.disposition?.attached_pic === 1).length,
          1,
          'cover art kept',
        );
        assert.equal(cover.chapters?.length, 2);
        const fonts = await streamsOf(at.fonts!);
        assert.equal(
          fonts.streams.find((s) => s.codec_type === 'attachment')?.tags?.filename,
          'DejaVuSans.ttf',
        );
        assert.equal(fonts.streams.find((s) => s.codec_type === 'audio')?.codec_name, 'flac');
        assert.equal(fonts.streams.filter((s) => s.codec_type === 'subtitle').length, 1);

        // Remuxed, not re-encoded: the French track is gone, the video packets are the original's.
        const remuxed = await streamsOf(at.remux!);
        assert.deepEqual(
          remuxed.streams.filter((s) => s.codec_type === 'audio').map((s) => s.tags?.language),
          ['eng'],
        );
        const archived = join(root, 'archive', 'Already HEVC (eng+fra).mkv');
        assert.equal(await videoPacketsMd5(at.remux!, root), await videoPacketsMd5(archived, root));

        // Left alone, byte for byte, each with its reason.
        assert.equal(await sha256(at.lowBitrate!), hashes.lowBitrate);
        assert.match(
          files.lowBitrate!.reason ?? '',
          /of the source's size .*no saving, the original is kept/,
        );
        assert.equal(await sha256(at.truncated!), hashes.truncated);
        assert.match(files.truncated!.reason ?? '', /failed its quick health check.*ends early/);
        const detail = (await (
          await fetch(`${url}/api/files/${files.truncated!.fileId}`)
        ).json()) as FileDetail;
        assert.equal(
          detail.events.some((e) => e.event.type === 'encode.started'),
          false,
          'a damaged source is never encoded',
        );

        // Neither counts against compliance; the summary says how many were left out.
        const summary = (await (await fetch(`${url}/api/summary`)).json()) as {
          compliance: {
            judged: number;
            conforming: number;
            percent: number;
            excluded: Record<string, number>;
          };
        };
        assert.deepEqual(summary.compliance.excluded, { unreadable: 0, kept: 1, damaged: 1 });
        assert.equal(summary.compliance.percent, 100);
        const failures = (await (await fetch(`${url}/api/failures`)).json()) as unknown[];
        assert.deepEqual(failures, [], 'no failure recorded');
      } finally {
        conform.kill();
      }
    },
  );
});
