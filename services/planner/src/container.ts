import { extname } from 'node:path';
import type { StreamInfo } from '@conform/contracts';
import type { PlanInput, Policy } from './policy.js';
import { IMAGE_SUBTITLES } from './streams.js';

/** Extensions of the mp4 family: kept in mp4 under `container: keep`. */
export const MP4_EXTENSIONS: ReadonlySet<string> = new Set(['.mp4', '.m4v', '.mov']);

/**
 * The output container: the policy's (or the source's under `keep`), switched to mkv when it
 * must hold image subtitles or attachments mp4 cannot; or why the file is skipped instead.
 */
export function outputContainer(
  input: PlanInput,
  policy: Policy,
  subtitles: { kept: StreamInfo[] },
  reasons: string[],
): { container: 'mkv' | 'mp4' } | { skip: string } {
  let container = containerFor(input.path, policy, reasons);
  const images = subtitles.kept.filter((s) => IMAGE_SUBTITLES.has(s.codec));
  if (container === 'mp4' && images.length > 0) {
    const codecs = [...new Set(images.map((s) => s.codec))].join(', ');
    if (policy.subtitles.imageSubtitlesInMp4 === 'skip') {
      return {
        skip: `image subtitles (${codecs}) cannot go in mp4 and the policy skips such files`,
      };
    }
    reasons.push(`image subtitles (${codecs}) cannot go in mp4: output mkv instead`);
    container = 'mkv';
  }
  const attachments = (input.media.streams ?? []).filter((s) => s.kind === 'attachment');
  if (container === 'mp4' && attachments.length > 0 && policy.streams.attachments === 'keep') {
    const names = attachments.map((s) => s.filename ?? `stream ${s.index}`).join(', ');
    reasons.push(
      `attachments (${names}) cannot go in mp4 and the policy keeps them: output mkv instead`,
    );
    container = 'mkv';
  }
  return { container };
}

/** The container the policy asks for; `keep` keeps mp4-family files in mp4, others go to mkv. */
export function containerFor(path: string, policy: Policy, reasons: string[]): 'mkv' | 'mp4' {
  if (policy.container !== 'keep') return policy.container;
  const ext = extname(path).toLowerCase();
  if (MP4_EXTENSIONS.has(ext)) return 'mp4';
  if (ext !== '.mkv') reasons.push(`container ${ext || '(none)'} cannot be kept: output mkv`);
  return 'mkv';
}
