import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateClip, generateUnflaggedInterlacedAvi, runFfmpeg } from '@conform/media';
import { failures, runPipeline, testPolicy, videoPacketsMd5 } from './pipeline.js';

// Files shaped like real libraries, through the real planner, encoder arguments, ffmpeg and
// verifier: each comes out right (every check passes) with the reasons in its plan.

let dir: string;
let library: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conform-real-media-'));
  library = join(dir, 'library');
  await mkdir(library);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('pixel format, chroma, bit depth and odd sizes', () => {
  it('a 321x241 4:4:4 H.264 source is encoded to 4:2:0 at 320x240 and passes verification', async () => {
    const path = join(library, 'yuv444.mp4');
    await generateClip({
      path,
      durationSec: 1,
      width: 321,
      height: 241,
      pixFmt: 'yuv444p',
      audioTracks: 0,
    });
    const r = await runPipeline(library, path, testPolicy(), join(dir, 'w444'));
    assert.equal(r.plan.decision, 'encode');
    assert.ok(
      r.plan.reasons.some((x) => /4:4:4 \(yuv444p\): output 4:2:0/.test(x)),
      r.plan.reasons.join('; '),
    );
    assert.ok(r.plan.reasons.some((x) => /321x241 has odd dimensions/.test(x)));
    assert.deepEqual(failures(r.checks), []);
    const video = r.streams.find((s) => s.codec_type === 'video')!;
    assert.equal(video.pix_fmt, 'yuv420p');
    assert.deepEqual([video.width, video.height], [320, 240]);
  });

  it('with keepChroma the same source stays 4:4:4 at 321x241 and passes verification', async () => {
    const path = join(library, 'yuv444-keep.mp4');
    await generateClip({
      path,
      durationSec: 1,
      width: 321,
      height: 241,
      pixFmt: 'yuv444p',
      audioTracks: 0,
    });
    const r = await runPipeline(
      library,
      path,
      testPolicy({ video: { keepChroma: true } }),
      join(dir, 'wkeep'),
    );
    assert.ok(r.plan.reasons.some((x) => /4:4:4 kept \(keepChroma\)/.test(x)));
    assert.deepEqual(failures(r.checks), []);
    const video = r.streams.find((s) => s.codec_type === 'video')!;
    assert.equal(video.pix_fmt, 'yuv444p');
    assert.deepEqual([video.width, video.height], [321, 241]);
  });

  it('tenBit turns an 8-bit source into 10-bit output that passes verification', async () => {
    const path = join(library, 'eight.mkv');
    await generateClip({ path, durationSec: 1, audioTracks: 1 });
    const r = await runPipeline(
      library,
      path,
      testPolicy({ video: { tenBit: true } }),
      join(dir, 'w10'),
    );
    assert.equal(r.plan.target?.pixFmt, 'yuv420p10le');
    assert.deepEqual(failures(r.checks), []);
    assert.equal(r.streams.find((s) => s.codec_type === 'video')?.pix_fmt, 'yuv420p10le');
  });
});

describe('every stream accounted for', () => {
  const kinds = (r: { streams: { codec_type: string; disposition?: Record<string, number> }[] }) =>
    r.streams.map((s) => (s.disposition?.attached_pic === 1 ? 'cover' : s.codec_type));

  it('an mp4 with cover art, a timecode track and chapters keeps the cover, timecode and chapters; the data stream is dropped with the reason', async () => {
    const path = join(library, 'camera.mp4');
    await generateClip({
      path,
      durationSec: 2,
      coverArt: true,
      timecode: '01:00:00:00',
      chapters: true,
    });
    const r = await runPipeline(library, path, testPolicy(), join(dir, 'wcover'));
    const text = r.plan.reasons.join('\n');
    assert.match(text, /keep cover art \(stream \d, png\): policy streams.coverArt is keep/);
    assert.match(text, /drop data stream \d \(tmcd\): .*start timecode 01:00:00:00 is kept/);
    assert.match(text, /keep 2 chapter\(s\)/);
    assert.deepEqual(failures(r.checks), []);
    assert.ok(r.checks.some((c) => c.name === 'timecode' && c.passed));
    assert.deepEqual(
      kinds(r).filter((k) => k !== 'data'),
      ['video', 'audio', 'cover'],
    );
    assert.equal(r.chapters, 2);
  });

  it('cover art going into mkv becomes an image attachment, not a video track', async () => {
    const path = join(library, 'album.mp4');
    await generateClip({ path, durationSec: 1, coverArt: true });
    const r = await runPipeline(
      library,
      path,
      testPolicy({ container: 'mkv' }),
      join(dir, 'wcovermkv'),
    );
    assert.match(r.plan.reasons.join('\n'), /keep cover art .* as an image attachment/);
    assert.deepEqual(failures(r.checks), []);
    const cover = r.streams.find((s) => s.disposition?.attached_pic === 1);
    assert.equal(cover?.tags?.filename, 'cover.png');
    assert.equal(
      r.streams.filter((s) => s.codec_type === 'video').length,
      2,
      'main video and the cover',
    );
  });

  it('an mkv with a font attachment, flac audio, subtitles and chapters keeps each, checked stream by stream', async () => {
    const path = join(library, 'anime.mkv');
    await generateClip({
      path,
      durationSec: 2,
      fontAttachment: true,
      audioCodec: 'flac',
      subtitles: true,
      chapters: true,
    });
    const r = await runPipeline(library, path, testPolicy(), join(dir, 'wfont'));
    assert.match(
      r.plan.reasons.join('\n'),
      /keep attachment DejaVuSans.ttf \(stream \d\): policy streams.attachments is keep/,
    );
    assert.deepEqual(failures(r.checks), []);
    const font = r.streams.find((s) => s.codec_type === 'attachment');
    assert.equal(font?.tags?.filename, 'DejaVuSans.ttf');
    assert.equal(font?.tags?.mimetype, 'application/x-truetype-font');
    assert.equal(r.streams.find((s) => s.codec_type === 'audio')?.codec_name, 'flac');
    assert.equal(r.chapters, 2);
    for (const name of ['streams', 'stream-titles', 'dispositions', 'chapters']) {
      assert.ok(
        r.checks.some((c) => c.name === name && c.passed),
        `${name} checked`,
      );
    }
  });

  it('the policy can drop cover art, attachments and chapters, each with its rule in the plan', async () => {
    const path = join(library, 'dropped.mkv');
    await generateClip({ path, durationSec: 1, fontAttachment: true, chapters: true });
    const r = await runPipeline(
      library,
      path,
      testPolicy({ streams: { attachments: 'drop', chapters: 'drop' } }),
      join(dir, 'wdrop'),
    );
    assert.match(
      r.plan.reasons.join('\n'),
      /drop attachment DejaVuSans.ttf .*streams.attachments is drop/,
    );
    assert.match(r.plan.reasons.join('\n'), /drop 1 chapter\(s\)/);
    assert.deepEqual(failures(r.checks), []);
    assert.equal(
      r.streams.some((s) => s.codec_type === 'attachment'),
      false,
    );
    assert.equal(r.chapters, 0);
  });
});

describe('interlacing', () => {
  const fieldOrder = (r: { streams: { codec_type: string; field_order?: string }[] }) =>
    r.streams.find((s) => s.codec_type === 'video')?.field_order;

  it('an interlaced MPEG-2 recording (field order tt) is deinterlaced with bwdif to progressive HEVC', async () => {
    const path = join(library, 'broadcast.mkv');
    await generateClip({ path, durationSec: 1, mpeg2: true, interlaced: true, audioCodec: 'ac3' });
    const r = await runPipeline(library, path, testPolicy(), join(dir, 'wint'));
    assert.deepEqual(r.plan.target?.deinterlace, { parity: 'tff' });
    assert.match(
      r.plan.reasons.join('\n'),
      /interlaced source, field order tt \(top field first\): deinterlace with bwdif, progressive output/,
    );
    assert.deepEqual(failures(r.checks), []);
    assert.ok(r.checks.some((c) => c.name === 'field-order' && c.measured === 'progressive'));
    assert.equal(fieldOrder(r), 'progressive');
  });

  it('deinterlace: never encodes the fields as they are, saying so', async () => {
    const path = join(library, 'broadcast-never.mkv');
    await generateClip({ path, durationSec: 1, mpeg2: true, interlaced: true });
    const r = await runPipeline(
      library,
      path,
      testPolicy({ video: { deinterlace: 'never' } }),
      join(dir, 'wnever'),
    );
    assert.equal(r.plan.target?.deinterlace, undefined);
    assert.match(
      r.plan.reasons.join('\n'),
      /interlaced source, field order tt .*not deinterlaced \(deinterlace: never\)/,
    );
    assert.notEqual(fieldOrder(r), 'progressive');
  });

  it('where field order says nothing (MPEG-4 in AVI), an idet sample finds the interlacing', async () => {
    const path = join(library, 'capture.avi');
    await generateUnflaggedInterlacedAvi(path);
    const r = await runPipeline(library, path, testPolicy(), join(dir, 'widet'));
    assert.match(
      r.plan.reasons.join('\n'),
      /field order unknown; idet over \d+ frames from 0 s: TFF \d+.* → interlaced \(top field first\)/,
    );
    assert.deepEqual(r.plan.target?.deinterlace, { parity: 'tff' });
    assert.deepEqual(failures(r.checks), []);
    assert.equal(fieldOrder(r), 'progressive');
  });

  it('a progressive source with unknown field order is left as it is after the idet sample', async () => {
    const path = join(library, 'progressive.avi');
    await runFfmpeg([
      '-nostdin',
      '-y',
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=320x240:rate=25:duration=2',
      '-vf',
      'rotate=t',
      '-c:v',
      'mpeg4',
      '-q:v',
      '2',
      path,
    ]);
    const r = await runPipeline(library, path, testPolicy(), join(dir, 'wprog'));
    assert.match(r.plan.reasons.join('\n'), /idet over .* → progressive: not deinterlaced/);
    assert.equal(r.plan.target?.deinterlace, undefined);
    assert.deepEqual(failures(r.checks), []);
  });
});

describe('remux only', () => {
  it('drops an unwanted audio language from a compliant HEVC file without re-encoding the video', async () => {
    const path = join(library, 'compliant-two-languages.mkv');
    await generateClip({ path, durationSec: 1, videoCodec: 'hevc', audioTracks: 2 });
    const r = await runPipeline(
      library,
      path,
      testPolicy({ audio: { keepLanguages: ['eng'] } }),
      join(dir, 'wremux'),
    );
    assert.equal(r.plan.decision, 'remux');
    assert.equal(r.plan.target?.videoCopy, true);
    assert.match(r.plan.reasons.join('\n'), /remux only, the video is copied \(drop audio 2\)/);
    assert.match(r.plan.reasons.join('\n'), /drop audio track 2 \(fra\): language not kept/);
    assert.deepEqual(failures(r.checks), []);
    assert.deepEqual(
      r.streams.filter((s) => s.codec_type === 'audio').map((s) => s.tags?.language),
      ['eng'],
    );
    assert.equal(await videoPacketsMd5(r.outputPath!, dir), await videoPacketsMd5(path, dir));
  });

  it('moves a compliant file into the container the policy names', async () => {
    const path = join(library, 'compliant.mkv');
    await generateClip({ path, durationSec: 1, videoCodec: 'hevc' });
    const r = await runPipeline(
      library,
      path,
      testPolicy({ container: 'mp4' }),
      join(dir, 'wremux2'),
    );
    assert.equal(r.plan.decision, 'remux');
    assert.match(r.plan.reasons.join('\n'), /container mkv → mp4/);
    assert.deepEqual(failures(r.checks), []);
    assert.equal(await videoPacketsMd5(r.outputPath!, dir), await videoPacketsMd5(path, dir));
  });

  it('leaves a compliant file whose streams and container need nothing alone', async () => {
    const path = join(library, 'fine.mkv');
    await generateClip({ path, durationSec: 1, videoCodec: 'hevc' });
    const r = await runPipeline(library, path, testPolicy(), join(dir, 'wfine'));
    assert.equal(r.plan.decision, 'compliant');
  });
});

describe('rotation, variable frame rate and dynamic HDR', () => {
  it('phone footage keeps its display matrix (rotation 90) in mp4 and its variable frame rate', async () => {
    const path = join(library, 'phone.mp4');
    await generateClip({ path, durationSec: 2, rotation: 90, variableFrameRate: true });
    const r = await runPipeline(library, path, testPolicy(), join(dir, 'wphone'));
    assert.match(r.plan.reasons.join('\n'), /display matrix \(rotation -?90°\) kept on the output/);
    assert.deepEqual(failures(r.checks), []);
    assert.ok(r.checks.some((c) => c.name === 'rotation' && c.passed && c.measured !== null));
    const count = (p: string) =>
      execFileSync(
        'ffprobe',
        [
          '-v',
          'error',
          '-count_frames',
          '-select_streams',
          'v:0',
          '-show_entries',
          'stream=nb_read_frames',
          '-of',
          'csv=p=0',
          p,
        ],
        { encoding: 'utf8' },
      )
        .trim()
        .replace(/,$/, '');
    // 25 frames in the first second and 10 a second after: not duplicated up to a constant rate.
    assert.equal(count(path), '35');
    assert.equal(count(r.outputPath!), count(path));
  });

  it('rotated footage going into mkv, which has no display matrix, has its frames rotated', async () => {
    const path = join(library, 'phone-mkv.mp4');
    await generateClip({ path, durationSec: 1, rotation: 90 });
    const r = await runPipeline(
      library,
      path,
      testPolicy({ container: 'mkv' }),
      join(dir, 'wphonemkv'),
    );
    assert.match(
      r.plan.reasons.join('\n'),
      /mkv carries no display matrix, so the frames are rotated \(240x320\)/,
    );
    assert.deepEqual(failures(r.checks), []);
    const video = r.streams.find((s) => s.codec_type === 'video')!;
    assert.deepEqual([video.width, video.height], [240, 320]);
  });
});

describe('lossless audio', () => {
  it('converts lossless tracks to the named codec, keeping the original-language track lossless', async () => {
    const path = join(library, 'concert.mkv');
    await generateClip({ path, durationSec: 1, audioTracks: 2, audioCodec: 'pcm_s16le' });
    const r = await runPipeline(
      library,
      path,
      testPolicy({ audio: { lossless: { convert: true, codec: 'eac3', bitrateKbps: 448 } } }),
      join(dir, 'wlossless'),
    );
    const text = r.plan.reasons.join('\n');
    assert.match(text, /keep audio track 1 \(pcm_s16le, eng\) lossless: the original language/);
    assert.match(
      text,
      /convert audio track 2 \(pcm_s16le, lossless\) to eac3 448 kbit\/s: policy audio.lossless/,
    );
    assert.deepEqual(failures(r.checks), []);
    assert.deepEqual(
      r.streams
        .filter((s) => s.codec_type === 'audio')
        .map((s) => [s.tags?.language, s.codec_name]),
      [
        ['eng', 'pcm_s16le'],
        ['fra', 'eac3'],
      ],
    );
  });

  it('converts FLAC of every language to Opus when the original language is not kept apart', async () => {
    const path = join(library, 'album.mkv');
    await generateClip({ path, durationSec: 1, audioCodec: 'flac' });
    const r = await runPipeline(
      library,
      path,
      testPolicy({
        audio: {
          lossless: { convert: true, codec: 'opus', bitrateKbps: 128, keepOriginalLanguage: false },
        },
      }),
      join(dir, 'wflac'),
    );
    assert.deepEqual(failures(r.checks), []);
    assert.equal(r.streams.find((s) => s.codec_type === 'audio')?.codec_name, 'opus');
  });
});
