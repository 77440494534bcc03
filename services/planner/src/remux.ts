import { extname } from 'node:path';
import type { EncodeTarget } from '@conform/contracts';
import { MP4_EXTENSIONS, outputContainer } from './container.js';
import type { FilePlan, PlanInput, Policy } from './policy.js';
import { keptStreams, planStreams } from './streams.js';

const NAMEABLE: readonly string[] = ['hevc', 'av1', 'h264'];

/**
 * For a file whose video complies: a `remux` plan when the container or the stream rules call
 * for a change (mp4 → mkv for image subtitles or fonts, a dropped language, a converted track,
 * a container the policy names), else null. The video is copied, never re-encoded; the output
 * goes through the same verify and swap path. Data streams no container carries do not count
 * as a change on their own. Pure.
 */
export function remuxPlan(input: PlanInput, policy: Policy, why: string[]): FilePlan | null {
  const { media } = input;
  const video = media.video;
  // Without per-stream detail (old probes) nothing can be said; an unnameable codec neither.
  if (!video || !media.streams || !NAMEABLE.includes(video.codec)) return null;
  const reasons: string[] = [];
  const subtitles = keptStreams(media.streams, 'subtitle', policy.subtitles.keepLanguages);
  const chosen = outputContainer(input, policy, subtitles, reasons);
  if ('skip' in chosen) return null;
  const { container } = chosen;
  const streams = planStreams(media, subtitles, policy, container, reasons);
  const ext = extname(input.path).toLowerCase();
  const sourceContainer = MP4_EXTENSIONS.has(ext) ? 'mp4' : ext === '.mkv' ? 'mkv' : ext;
  const changes: string[] = [];
  if (sourceContainer !== container)
    changes.push(`container ${sourceContainer || '(none)'} → ${container}`);
  const changed = streams.filter(
    (s) => s.action !== 'copy' && s.kind !== 'data' && s.kind !== 'video',
  );
  if (changed.length > 0) {
    changes.push(changed.map((s) => `${s.action} ${s.kind} ${s.index}`).join(', '));
  }
  if (policy.streams.chapters === 'drop' && (media.chapters ?? 0) > 0)
    changes.push('drop chapters');
  if (changes.length === 0) return null;
  const target: EncodeTarget = {
    videoCodec: video.codec as EncodeTarget['videoCodec'],
    container,
    videoCopy: true,
    streams,
    allStreams: true,
    chapters: policy.streams.chapters,
    ...(video.pixFmt ? { pixFmt: video.pixFmt } : {}),
    frameSize: { width: video.width, height: video.height },
  };
  return {
    decision: 'remux',
    reasons: [...why, `remux only, the video is copied (${changes.join('; ')})`, ...reasons],
    target,
    estimatedOutputBytes: null,
  };
}
