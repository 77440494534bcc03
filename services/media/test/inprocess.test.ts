import assert from 'node:assert/strict';
import { mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MediaSummary } from '@conform/contracts';
import {
  generateClip,
  IN_PROCESS_READ_BUDGET,
  InProcessProber,
  mp4Index,
  PROBE_NICENESS,
  probeMedia,
  runFfmpeg,
  threadNiceness,
} from '../src/index.js';

// The in-process reader (MediaInfoLib) against ffprobe, the reference, field by field on clips
// of each container; and the files it leaves to ffprobe, with the reason.

let dir: string;
let srt: string;
let chapters: string;
const prober = new InProcessProber();
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conform-inprocess-'));
  srt = join(dir, 'subs.srt');
  await writeFile(
    srt,
    '1\n00:00:00,000 --> 00:00:01,000\nhello\n\n2\n00:00:01,000 --> 00:00:02,000\nbye\n',
  );
  chapters = join(dir, 'chapters.txt');
  await writeFile(
    chapters,
    ';FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=1000\ntitle=One\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=1000\nEND=2000\ntitle=Two\n',
  );
});
after(async () => {
  prober.close();
  await rm(dir, { recursive: true, force: true });
});

const base = ['-nostdin', '-y', '-v', 'error'];
const lavfi = (src: string) => ['-f', 'lavfi', '-i', src];
const x265 = ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error'];

/** Every field the summary has, as ffprobe has it vs as read in process; [] when they agree. */
function differences(ff: MediaSummary, mi: MediaSummary): string[] {
  const out: string[] = [];
  const same = (name: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a ?? null) !== JSON.stringify(b ?? null)) {
      out.push(`${name}: ffprobe ${JSON.stringify(a)}, in process ${JSON.stringify(b)}`);
    }
  };
  const near = (
    name: string,
    a: number | null | undefined,
    b: number | null | undefined,
    tol: number,
  ) => {
    if (a == null || b == null ? a != b : Math.abs(a - b) > tol * Math.max(1, Math.abs(a))) {
      out.push(`${name}: ffprobe ${a}, in process ${b}`);
    }
  };
  same('container', ff.container, mi.container);
  near('durationSec', ff.durationSec, mi.durationSec, 0.03);
  near('bitRate', ff.bitRate, mi.bitRate, 0.03);
  same('audioStreams', ff.audioStreams, mi.audioStreams);
  same('subtitleStreams', ff.subtitleStreams, mi.subtitleStreams);
  same('chapters', ff.chapters, mi.chapters);
  const [fv, mv] = [ff.video, mi.video];
  same('video', fv === null, mv === null);
  if (fv && mv) {
    for (const k of [
      'codec',
      'width',
      'height',
      'pixFmt',
      'profile',
      'bitDepth',
      'colorTransfer',
      'colorPrimaries',
      'colorSpace',
      'hdr',
      'sideData',
      'timecode',
      'rotation',
    ] as const) {
      same(`video.${k}`, fv[k], mv[k]);
    }
    near('video.frameRate', fv.frameRate, mv.frameRate, 0.001);
    // Field order: MediaInfo reports a scan type where the codec says one; where it says none,
    // an encode is re-probed by ffprobe before anything is done (the planner's rule).
    if (mv.fieldOrder !== null) same('video.fieldOrder', fv.fieldOrder, mv.fieldOrder);
  }
  same('streams', ff.streams?.length, mi.streams?.length);
  (ff.streams ?? []).forEach((f, i) => {
    const m = mi.streams?.[i];
    if (!m) return;
    for (const k of [
      'index',
      'kind',
      'codec',
      'language',
      'channels',
      'channelLayout',
      'profile',
      'default',
      'forced',
      'title',
    ] as const) {
      same(`streams[${i}].${k}`, f[k], m[k]);
    }
    near(`streams[${i}].bitRate`, f.bitRate, m.bitRate, 0.03);
  });
  return out;
}

async function compare(path: string): Promise<MediaSummary> {
  const [ff, mi] = await Promise.all([probeMedia(path), prober.probe(path)]);
  assert.ok(mi.ok, `${path}: in process fell back: ${mi.ok ? '' : mi.why}`);
  assert.deepEqual(differences(ff, mi.media), [], path);
  return mi.media;
}

describe('in-process probe vs ffprobe, field by field', () => {
  it('Matroska: 10-bit HEVC, AAC and 5.1 AC-3 with languages, a title and a default, SubRip, chapters', async () => {
    const path = join(dir, 'movie.mkv');
    await runFfmpeg([
      ...base,
      ...lavfi('testsrc2=size=320x240:rate=24000/1001'),
      ...lavfi('sine=frequency=440:sample_rate=48000'),
      ...lavfi('sine=frequency=300:sample_rate=48000'),
      '-i',
      srt,
      '-i',
      chapters,
      '-t',
      '2',
      '-map',
      '0:v',
      '-map',
      '1:a',
      '-map',
      '2:a',
      '-map',
      '3:s',
      '-map_chapters',
      '4',
      ...x265,
      '-pix_fmt',
      'yuv420p10le',
      '-c:a:0',
      'aac',
      '-c:a:1',
      'ac3',
      '-ac:a:1',
      '6',
      '-c:s',
      'srt',
      '-metadata:s:a:0',
      'language=eng',
      '-metadata:s:a:1',
      'language=spa',
      '-metadata:s:a:1',
      'title=Spanish 5.1',
      '-metadata:s:s:0',
      'language=jpn',
      '-disposition:a:0',
      '0',
      '-disposition:a:1',
      'default',
      path,
    ]);
    const media = await compare(path);
    assert.equal(media.chapters, 2);
    assert.equal(media.streams?.length, 3);
  });

  it('MP4: H.264 High, stereo AAC, mov_text', async () => {
    const path = join(dir, 'clip.mp4');
    await runFfmpeg([
      ...base,
      ...lavfi('testsrc2=size=640x360:rate=25'),
      ...lavfi('sine=frequency=440:sample_rate=48000'),
      '-i',
      srt,
      '-t',
      '2',
      '-map',
      '0:v',
      '-map',
      '1:a',
      '-map',
      '2:s',
      '-c:v',
      'libx264',
      '-profile:v',
      'high',
      '-c:a',
      'aac',
      '-ac',
      '2',
      '-c:s',
      'mov_text',
      '-metadata:s:a:0',
      'language=eng',
      path,
    ]);
    await compare(path);
  });

  it('MP4 larger than the read budget, two audio tracks, its index at the end or the front', async () => {
    for (const faststart of [false, true]) {
      const path = join(dir, `large${faststart ? '-faststart' : ''}.mp4`);
      await runFfmpeg([
        ...base,
        ...lavfi('testsrc2=size=1280x720:rate=25'),
        ...lavfi('sine=frequency=440:sample_rate=48000'),
        ...lavfi('sine=frequency=300:sample_rate=48000'),
        '-t',
        '3',
        '-map',
        '0:v',
        '-map',
        '1:a',
        '-map',
        '2:a',
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-b:v',
        '8M',
        '-c:a',
        'aac',
        ...(faststart ? ['-movflags', '+faststart'] : []),
        path,
      ]);
      assert.ok((await stat(path)).size > IN_PROCESS_READ_BUDGET, 'past the budget');
      const fh = await open(path, 'r');
      try {
        const readAt = async (length: number, offset: number) => {
          const buf = new Uint8Array(length);
          return buf.subarray(0, (await fh.read(buf, 0, length, offset)).bytesRead);
        };
        const index = await mp4Index(readAt, (await fh.stat()).size);
        assert.ok(index && index.size > 0, 'moov found');
        assert.equal(index.offset < 1000, faststart, 'moov at the front only with faststart');
      } finally {
        await fh.close();
      }
      const media = await compare(path);
      assert.equal(media.audioStreams, 2);
    }
  });

  it('Matroska larger than the read budget: tracks and chapters come before the clusters', async () => {
    const path = join(dir, 'large.mkv');
    await runFfmpeg([
      ...base,
      ...lavfi('testsrc2=size=1280x720:rate=25'),
      ...lavfi('sine=frequency=440:sample_rate=48000'),
      '-i',
      srt,
      '-i',
      chapters,
      '-t',
      '3',
      '-map',
      '0:v',
      '-map',
      '1:a',
      '-map',
      '2:s',
      '-map_chapters',
      '3',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-b:v',
      '8M',
      '-c:a',
      'aac',
      '-c:s',
      'srt',
      '-metadata:s:s:0',
      'language=eng',
      path,
    ]);
    assert.ok((await stat(path)).size > IN_PROCESS_READ_BUDGET, 'past the budget');
    const media = await compare(path);
    assert.equal(media.chapters, 2);
    assert.equal(media.subtitleStreams, 1);
  });

  it('MOV: HEVC (hvc1) and AAC, BT.709 tagged', async () => {
    const path = join(dir, 'camera.mov');
    await runFfmpeg([
      ...base,
      ...lavfi('testsrc2=size=426x240:rate=30'),
      ...lavfi('sine=frequency=440:sample_rate=48000'),
      '-t',
      '2',
      ...x265,
      '-tag:v',
      'hvc1',
      '-color_primaries',
      'bt709',
      '-color_trc',
      'bt709',
      '-colorspace',
      'bt709',
      '-c:a',
      'aac',
      path,
    ]);
    await compare(path);
  });
  it('AVI: H.264 and AC-3, small and past the read budget (its index is at the end)', async () => {
    for (const [name, seconds, rate] of [
      ['old.avi', '2', '1M'],
      ['long.avi', '12', '3M'],
    ] as const) {
      const path = join(dir, name);
      await runFfmpeg([
        ...base,
        ...lavfi('testsrc2=size=320x240:rate=25'),
        ...lavfi('sine=frequency=440:sample_rate=48000'),
        '-t',
        seconds,
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-b:v',
        rate,
        '-c:a',
        'ac3',
        path,
      ]);
      if (name === 'long.avi') {
        assert.ok((await stat(path)).size > IN_PROCESS_READ_BUDGET, 'past the budget');
      }
      const media = await compare(path);
      assert.equal(media.video?.bitDepth, 8);
      assert.equal(media.streams?.[0]?.channelLayout, 'mono');
    }
  });
});

describe('the prober thread', () => {
  it('runs at the probe niceness, and the main thread stays where it was', async () => {
    const path = join(dir, 'nice.mkv');
    await generateClip({ path, durationSec: 1 });
    const before = await threadNiceness('self');
    const own = new InProcessProber();
    try {
      assert.equal((await own.probe(path)).ok, true);
      const after = await threadNiceness('self');
      const lowered = [...after].filter(([tid, n]) => n === PROBE_NICENESS && !before.has(tid));
      assert.equal(lowered.length, 1, `one new thread at ${PROBE_NICENESS}: ${[...after]}`);
      assert.equal(after.get(process.pid), before.get(process.pid), 'the main thread');
      assert.equal(after.get(process.pid), 0);
    } finally {
      own.close();
    }
  });
});

describe('what the in-process probe leaves to ffprobe', () => {
  const fallsBack = async (path: string, why: RegExp) => {
    const mi = await prober.probe(path);
    assert.equal(mi.ok, false, path);
    assert.match(mi.ok ? '' : mi.why, why);
    const both = await prober.probeOrFallback(path);
    assert.equal(both.by, 'ffprobe');
    assert.ok(both.ok, 'ffprobe reads it');
    assert.deepEqual(both.ok && both.media, await probeMedia(path));
  };

  it('MPEG-TS (its duration needs the end of the file)', async () => {
    const path = join(dir, 'recording.ts');
    await runFfmpeg([
      ...base,
      ...lavfi('testsrc2=size=320x240:rate=25'),
      ...lavfi('sine'),
      '-t',
      '2',
      ...x265,
      '-c:a',
      'aac',
      '-f',
      'mpegts',
      path,
    ]);
    await fallsBack(path, /container MPEG-TS/);
  });

  it('HDR10 (side data is ffprobe’s)', async () => {
    const path = join(dir, 'hdr.mkv');
    await generateClip({ path, hdr10: true });
    await fallsBack(path, /HDR/);
  });

  it('attachments (fonts) and cover art', async () => {
    const fonts = join(dir, 'fonts.mkv');
    await generateClip({ path: fonts, videoCodec: 'hevc', fontAttachment: true });
    await fallsBack(fonts, /attachments/);
    const cover = join(dir, 'cover.mp4');
    await generateClip({ path: cover, coverArt: true });
    await fallsBack(cover, /cover art|video tracks/);
  });

  it('a language whose ISO 639-2 code has two forms (fre/fra)', async () => {
    const path = join(dir, 'french.mkv');
    await runFfmpeg([
      ...base,
      ...lavfi('testsrc2=size=320x240:rate=25'),
      ...lavfi('sine'),
      '-t',
      '1',
      ...x265,
      '-c:a',
      'aac',
      '-metadata:s:a:0',
      'language=fre',
      path,
    ]);
    await fallsBack(path, /language fr/);
  });

  it('AVI with MPEG-4 Part 2 video (XviD): not mapped', async () => {
    const path = join(dir, 'xvid.avi');
    await runFfmpeg([
      ...base,
      ...lavfi('testsrc2=size=320x240:rate=25'),
      ...lavfi('sine=frequency=440:sample_rate=48000'),
      '-t',
      '2',
      '-c:v',
      'mpeg4',
      '-vtag',
      'XVID',
      '-c:a',
      'ac3',
      path,
    ]);
    await fallsBack(path, /video format MPEG-4 Visual/);
  });

  it('a file that is not media', async () => {
    const path = join(dir, 'notes.mkv');
    await writeFile(path, 'not a video');
    const mi = await prober.probe(path);
    assert.equal(mi.ok, false);
    const both = await prober.probeOrFallback(path);
    assert.equal(both.by, 'ffprobe');
    assert.equal(both.ok, false);
  });
});

describe('the prober’s worker thread', () => {
  it('answers probes in flight together each with its own file', async () => {
    const mkv = join(dir, 'together.mkv');
    const mp4 = join(dir, 'together.mp4');
    await generateClip({ path: mkv, videoCodec: 'hevc' });
    await generateClip({ path: mp4, videoCodec: 'h264' });
    // One at a time first: the reference each concurrent answer must match.
    const alone = new Map<string, unknown>();
    for (const p of [mkv, mp4]) {
      const reading = await prober.probe(p);
      assert.ok(reading.ok, p);
      alone.set(p, reading.media);
    }
    assert.notDeepEqual(alone.get(mkv), alone.get(mp4));
    const paths = [mkv, mp4, mkv, mp4, mp4, mkv];
    const readings = await Promise.all(paths.map((p) => prober.probe(p)));
    for (const [i, reading] of readings.entries()) {
      assert.deepEqual(reading, { ok: true, media: alone.get(paths[i]!) }, paths[i]);
    }
  });

  it('falls back to ffprobe for probes pending when it stops, and reads no more after', async () => {
    const path = join(dir, 'stopped.mkv');
    await generateClip({ path, videoCodec: 'hevc' });
    const own = new InProcessProber();
    // Its thread is still starting (loading the WebAssembly) when it is stopped.
    const pending = own.probeOrFallback(path);
    own.close();
    const reading = await pending;
    assert.equal(reading.by, 'ffprobe');
    assert.match(reading.fallback ?? '', /worker exited/);
    assert.deepEqual(reading.ok && reading.media, await probeMedia(path));
    const after = await own.probe(path);
    assert.deepEqual(after, { ok: false, why: 'mediainfo: the prober is closed' });
  });
});

describe('probeOrFallback’s bound on ffprobe processes', () => {
  it('runs ffprobe through limitFallback, the in-process reading without it', async () => {
    const mkv = join(dir, 'limited.mkv');
    await generateClip({ path: mkv, videoCodec: 'hevc' });
    const ts = join(dir, 'limited.ts');
    await runFfmpeg([
      ...base,
      ...lavfi('testsrc2=size=160x120:rate=25'),
      '-t',
      '1',
      ...x265,
      '-f',
      'mpegts',
      ts,
    ]);
    let limited = 0;
    const limitFallback = async <T>(run: () => Promise<T>): Promise<T> => {
      limited++;
      return run();
    };
    const read = await prober.probeOrFallback(mkv, { limitFallback });
    assert.equal(read.by, 'mediainfo');
    assert.equal(limited, 0);
    const fallen = await prober.probeOrFallback(ts, { limitFallback });
    assert.equal(fallen.by, 'ffprobe');
    assert.equal(limited, 1);
    assert.deepEqual(fallen.ok && fallen.media, await probeMedia(ts));
  });
});
