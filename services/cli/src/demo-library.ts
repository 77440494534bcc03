import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { generateClip } from '@conform/media';

/** A clip the demo library starts with, and why it is there. */
interface DemoClip {
  relativePath: string;
  videoCodec: 'h264' | 'hevc';
  audioTracks: number;
  subtitles: boolean;
  why: string;
}

const DEMO_CLIPS: DemoClip[] = [
  {
    relativePath: 'Movies/Big Test (2024)/Big Test (2024).mp4',
    videoCodec: 'h264',
    audioTracks: 1,
    subtitles: true,
    why: 'H.264 with subtitles: planned for HEVC',
  },
  {
    relativePath: 'Shows/Test Show/Season 01/Test Show - S01E01.mkv',
    videoCodec: 'h264',
    audioTracks: 2,
    subtitles: false,
    why: 'H.264 with two audio languages: planned for HEVC, both tracks kept',
  },
  {
    relativePath: 'Movies/Already Good (2023)/Already Good (2023).mkv',
    videoCodec: 'hevc',
    audioTracks: 1,
    subtitles: false,
    why: 'already HEVC: marked compliant, left alone',
  },
];

/**
 * Creates `<dir>/library` with a few generated clips (skipping any that exist) and returns the
 * library and archive paths. Nothing is downloaded; ffmpeg's lavfi sources make the media.
 */
export async function prepareDemoLibrary(
  dir: string,
  say: (line: string) => void,
): Promise<{ library: string; archive: string; stateDir: string }> {
  const library = join(dir, 'library');
  const archive = join(dir, 'archive');
  const stateDir = join(dir, 'state');
  await mkdir(library, { recursive: true });
  await mkdir(archive, { recursive: true });
  for (const clip of DEMO_CLIPS) {
    const path = join(library, clip.relativePath);
    if (await stat(path).catch(() => null)) continue;
    await mkdir(join(path, '..'), { recursive: true });
    await generateClip({
      path,
      durationSec: 4,
      width: 640,
      height: 360,
      videoCodec: clip.videoCodec,
      audioTracks: clip.audioTracks,
      subtitles: clip.subtitles,
    });
    say(`  made ${clip.relativePath} — ${clip.why}`);
  }
  return { library, archive, stateDir };
}
