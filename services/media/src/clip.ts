// Generated media for tests and benchmarks (lavfi sources, never committed files): one clip
// generator with an option per real-library trait, plus the few shapes it cannot express.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { runFfmpeg } from './ffmpeg.js';

/** What {@link generateClip} makes. Defaults: 2 s, 320x240, h264, one audio track, no subtitles. */
export interface ClipOptions {
  path: string;
  durationSec?: number;
  width?: number;
  height?: number;
  videoCodec?: 'h264' | 'hevc';
  audioTracks?: number;
  subtitles?: boolean;
  /** 10-bit HEVC tagged HDR10 (BT.2020, PQ) with mastering-display and light-level metadata. */
  hdr10?: boolean;
  /** Video codec beyond h264/hevc: MPEG-2, as broadcast recordings and DVDs hold it. */
  mpeg2?: boolean;
  /** Pixel format of the video (e.g. `yuv444p`, `yuv422p`); odd sizes need 4:4:4. */
  pixFmt?: string;
  /** Interlaced video, top field first (`-flags +ilme+ildct -top 1`). */
  interlaced?: boolean;
  /** Audio codec of every track; defaults to AAC. Lossless ones as real libraries hold them. */
  audioCodec?: 'aac' | 'ac3' | 'flac' | 'pcm_s16le';
  /** mp4/mkv: a PNG cover art stream with the attached_pic disposition. */
  coverArt?: boolean;
  /** mkv: a font attachment (`-attach` with a font mimetype), as styled subtitles carry. */
  fontAttachment?: boolean;
  /** mp4/mov: a QuickTime timecode track (a data stream), e.g. `01:00:00:00`. */
  timecode?: string;
  /** Chapters every second. */
  chapters?: boolean;
  /** mp4: index at the front, so a truncated copy still probes with its full duration. */
  faststart?: boolean;
  /** mp4: a display matrix rotating the picture by this many degrees, as phone footage has. */
  rotation?: number;
  /** Variable frame rate: 25 fps for the first second, 10 fps after (the clip runs longer). */
  variableFrameRate?: boolean;
}

const LANGUAGES = ['eng', 'fra', 'deu', 'spa', 'ita', 'jpn', 'por', 'nld'];

/**
 * Writes a synthetic clip: testsrc2 video, one sine tone per audio track (each tagged with a
 * language), optionally a subtitle track muxed from a generated .srt. The container follows
 * the extension (.mp4/.m4v/.mov → mp4 with mov_text, anything else → matroska with subrip).
 */
export async function generateClip(opts: ClipOptions): Promise<void> {
  const durationSec = opts.durationSec ?? 2;
  const width = opts.width ?? 320;
  const height = opts.height ?? 240;
  const audioTracks = opts.audioTracks ?? 1;
  const mp4 = isMp4Family(opts.path);
  const needsScratch = opts.subtitles || opts.coverArt || opts.fontAttachment || opts.chapters;
  const scratch = needsScratch ? await mkdtemp(join(tmpdir(), 'conform-clip-')) : null;
  try {
    const args = ['-hide_banner', '-nostdin', '-y', '-v', 'error'];
    // testsrc2 makes even sizes only: draw one pixel bigger and crop (in 4:4:4, so odd survives).
    const odd = width % 2 === 1 || height % 2 === 1;
    const drawn = odd ? `${width + (width % 2)}x${height + (height % 2)}` : `${width}x${height}`;
    args.push('-f', 'lavfi', '-i', `testsrc2=size=${drawn}:rate=25:duration=${durationSec}`);
    for (let i = 0; i < audioTracks; i++) {
      const frequency = 440 + 110 * i;
      args.push(
        '-f',
        'lavfi',
        '-i',
        `sine=frequency=${frequency}:sample_rate=48000:duration=${durationSec}`,
      );
    }
    let next = audioTracks + 1;
    let subtitleInput: number | null = null;
    let coverInput: number | null = null;
    let chapterInput: number | null = null;
    if (scratch && opts.subtitles) {
      const srt = join(scratch, 'subtitles.srt');
      await writeFile(srt, subtitleText(durationSec));
      args.push('-i', srt);
      subtitleInput = next++;
    }
    if (scratch && opts.coverArt) {
      const png = join(scratch, 'cover.png');
      await runFfmpeg([
        '-nostdin',
        '-y',
        '-v',
        'error',
        '-f',
        'lavfi',
        '-i',
        'color=c=red:size=64x64',
        '-frames:v',
        '1',
        png,
      ]);
      args.push('-i', png);
      coverInput = next++;
    }
    if (scratch && opts.chapters) {
      const meta = join(scratch, 'chapters.txt');
      await writeFile(meta, chapterText(durationSec));
      args.push('-f', 'ffmetadata', '-i', meta);
      chapterInput = next++;
    }
    args.push('-map', '0:v');
    for (let i = 0; i < audioTracks; i++) args.push('-map', `${i + 1}:a`);
    if (subtitleInput !== null) args.push('-map', `${subtitleInput}:s`);
    if (coverInput !== null) args.push('-map', `${coverInput}:v`);
    if (chapterInput !== null) args.push('-map_chapters', String(chapterInput));
    const vf: string[] = [];
    if (odd) vf.push(`format=yuv444p,crop=${width}:${height}:0:0`);
    // Variable frame rate as phones record it: the first second at 25 fps, then 10 fps.
    if (opts.variableFrameRate) vf.push("setpts='if(lt(N,25),N/25,1+(N-25)/10)/TB'");
    if (vf.length) args.push('-vf', vf.join(','));
    if (opts.variableFrameRate) args.push('-fps_mode', 'vfr');
    args.push(...(opts.hdr10 ? hdr10VideoArgs(mp4) : videoArgs(opts, mp4)));
    if (opts.interlaced) args.push('-flags', '+ilme+ildct', '-top', '1');
    if (coverInput !== null) args.push('-c:v:1', 'png', '-disposition:v:1', 'attached_pic');
    if (audioTracks > 0) args.push(...audioArgs(opts.audioCodec ?? 'aac'));
    for (let i = 0; i < audioTracks; i++) {
      args.push(`-metadata:s:a:${i}`, `language=${LANGUAGES[i % LANGUAGES.length]}`);
    }
    if (subtitleInput !== null) {
      args.push('-c:s', mp4 ? 'mov_text' : 'subrip', '-metadata:s:s:0', 'language=eng');
    }
    if (scratch && opts.fontAttachment) {
      // Not a real font, but muxed and tagged exactly as one: players match on the mimetype.
      const font = join(scratch, 'DejaVuSans.ttf');
      await writeFile(font, Buffer.alloc(2048, 7));
      args.push('-attach', font, '-metadata:s:t:0', 'mimetype=application/x-truetype-font');
    }
    if (opts.timecode) args.push('-timecode', opts.timecode);
    if (mp4 && opts.faststart) args.push('-movflags', '+faststart');
    args.push('-t', String(durationSec), '-f', mp4 ? 'mp4' : 'matroska', opts.path);
    if (!opts.rotation) {
      await runFfmpeg(args);
      return;
    }
    // A display matrix as phones write it: stream-copied with the rotate tag (mp4/mov only).
    const unrotated = `${opts.path}.unrotated${extname(opts.path)}`;
    args[args.length - 1] = unrotated;
    await runFfmpeg(args);
    try {
      await runFfmpeg([
        '-nostdin',
        '-y',
        '-v',
        'error',
        '-i',
        unrotated,
        '-map',
        '0',
        '-c',
        'copy',
        '-metadata:s:v:0',
        `rotate=${opts.rotation}`,
        opts.path,
      ]);
    } finally {
      await rm(unrotated, { force: true });
    }
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

function videoArgs(opts: ClipOptions, mp4: boolean): string[] {
  const codec = opts.videoCodec ?? 'h264';
  const common = ['-pix_fmt', opts.pixFmt ?? 'yuv420p', '-g', '25'];
  if (opts.mpeg2) return ['-c:v', 'mpeg2video', '-b:v', '1500k', ...common];
  if (codec === 'h264') return ['-c:v', 'libx264', '-preset', 'ultrafast', ...common];
  return [
    '-c:v',
    'libx265',
    '-preset',
    'ultrafast',
    '-x265-params',
    'log-level=error',
    ...common,
    ...(mp4 ? ['-tag:v', 'hvc1'] : []),
  ];
}

/**
 * An interlaced capture whose codec records no field order (MPEG-4 part 2 in AVI, as old
 * captures are): 50p motion woven into top-field-first 25i, so only an idet sample finds it.
 */
export async function generateUnflaggedInterlacedAvi(path: string): Promise<void> {
  await runFfmpeg([
    '-nostdin',
    '-y',
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=320x240:rate=50:duration=2',
    '-vf',
    'rotate=t,tinterlace=mode=interleave_top,setfield=tff',
    '-c:v',
    'mpeg4',
    '-q:v',
    '2',
    path,
  ]);
}

/** Test masters as UHD discs carry them: P3 primaries inside BT.2020, 1000 nits. */
export const SAMPLE_MASTER_DISPLAY =
  'G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)';

function hdr10VideoArgs(mp4: boolean): string[] {
  return [
    '-c:v',
    'libx265',
    '-preset',
    'ultrafast',
    '-x265-params',
    `log-level=error:hdr10=1:repeat-headers=1:master-display=${SAMPLE_MASTER_DISPLAY}:max-cll=1000,400`,
    '-pix_fmt',
    'yuv420p10le',
    '-g',
    '25',
    ...['-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc'],
    ...(mp4 ? ['-tag:v', 'hvc1'] : []),
  ];
}

function audioArgs(codec: NonNullable<ClipOptions['audioCodec']>): string[] {
  switch (codec) {
    case 'aac':
    case 'ac3':
      return ['-c:a', codec, '-b:a', '64k', '-ac', '2'];
    case 'flac':
      // flac in mp4 is still marked experimental in ffmpeg 5.1.
      return ['-c:a', 'flac', '-ac', '2', '-strict', '-2'];
    case 'pcm_s16le':
      return ['-c:a', 'pcm_s16le', '-ac', '2'];
  }
}

/** ffmetadata with one chapter per second, titled. */
function chapterText(durationSec: number): string {
  const lines = [';FFMETADATA1'];
  const count = Math.max(1, Math.floor(durationSec));
  for (let i = 0; i < count; i++) {
    lines.push('[CHAPTER]', 'TIMEBASE=1/1000', `START=${i * 1000}`);
    lines.push(`END=${Math.min((i + 1) * 1000, durationSec * 1000)}`, `title=Chapter ${i + 1}`);
  }
  return lines.join('\n') + '\n';
}

function isMp4Family(path: string): boolean {
  return ['.mp4', '.m4v', '.mov'].includes(extname(path).toLowerCase());
}

/** One cue per second, so the track has content over the whole clip. */
function subtitleText(durationSec: number): string {
  const cues: string[] = [];
  const count = Math.max(1, Math.floor(durationSec));
  for (let i = 0; i < count; i++) {
    cues.push(`${i + 1}\n${srtTime(i)} --> ${srtTime(i + 1)}\nLine ${i + 1}\n`);
  }
  return cues.join('\n');
}

function srtTime(sec: number): string {
  const h = String(Math.floor(sec / 3600)).padStart(2, '0');
  const m = String(Math.floor((sec % 3600) / 60)).padStart(2, '0');
  const s = String(sec % 60).padStart(2, '0');
  return `${h}:${m}:${s},000`;
}
