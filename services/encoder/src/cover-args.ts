import type { StreamPlan } from '@conform/contracts';
import type { AttachFile } from './args.js';

/**
 * The cover art an mkv output attaches, one file per kept cover stream, named as players expect
 * (`cover.png`, then `cover-<index>.png`); `dir` is where they are extracted. Pure.
 */
export function coverArtFiles(
  streams: readonly StreamPlan[] | undefined,
  container: 'mkv' | 'mp4',
  prefix: string,
): (AttachFile & { index: number })[] {
  if (container !== 'mkv') return [];
  return (streams ?? [])
    .filter((s) => s.kind === 'cover' && s.action !== 'drop')
    .map((s, i) => ({
      index: s.index,
      path: `${prefix}.cover-${s.index}.png`,
      mimetype: 'image/png',
      filename: i === 0 ? 'cover.png' : `cover-${s.index}.png`,
    }));
}

/** ffmpeg arguments that extract one cover art stream of `input` to a PNG at `path`. Pure. */
export function coverExtractArgs(input: string, index: number, path: string): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-y',
    '-v',
    'error',
    '-i',
    input,
    '-map',
    `0:${index}`,
    '-frames:v',
    '1',
    '-c:v',
    'png',
    '-f',
    'image2',
    path,
  ];
}
