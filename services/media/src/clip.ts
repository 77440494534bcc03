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
  const scratch = opts.subtitles ? await mkdtemp(join(tmpdir(), 'conform-clip-')) : null;
  try {
    const args = ['-hide_banner', '-nostdin', '-y', '-v', 'error'];
    args.push(
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=${width}x${height}:rate=25:duration=${durationSec}`,
    );
    for (let i = 0; i < audioTracks; i++) {
      const frequency = 440 + 110 * i;
      args.push(
        '-f',
        'lavfi',
        '-i',
        `sine=frequency=${frequency}:sample_rate=48000:duration=${durationSec}`,
      );
    }
    if (scratch) {
      const srt = join(scratch, 'subtitles.srt');
      await writeFile(srt, subtitleText(durationSec));
      args.push('-i', srt);
    }
    args.push('-map', '0:v');
    for (let i = 0; i < audioTracks; i++) args.push('-map', `${i + 1}:a`);
    if (scratch) args.push('-map', `${audioTracks + 1}:s`);
    args.push(...(opts.hdr10 ? hdr10VideoArgs(mp4) : videoArgs(opts.videoCodec ?? 'h264', mp4)));
    if (audioTracks > 0) args.push('-c:a', 'aac', '-b:a', '64k', '-ac', '2');
    for (let i = 0; i < audioTracks; i++) {
      args.push(`-metadata:s:a:${i}`, `language=${LANGUAGES[i % LANGUAGES.length]}`);
    }
    if (scratch) {
      args.push('-c:s', mp4 ? 'mov_text' : 'subrip', '-metadata:s:s:0', 'language=eng');
    }
    args.push('-t', String(durationSec), '-f', mp4 ? 'mp4' : 'matroska', opts.path);
    await runFfmpeg(args);
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

function videoArgs(codec: 'h264' | 'hevc', mp4: boolean): string[] {
  const common = ['-pix_fmt', 'yuv420p', '-g', '25'];
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
