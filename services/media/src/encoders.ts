import { FfmpegFailedError } from './errors.js';
import { runFfmpeg } from './ffmpeg.js';

/** The HEVC encoder to use on this machine and why it was chosen. */
export interface HevcEncoderChoice {
  encoder: 'hevc_nvenc' | 'libx265';
  reason: string;
}

/**
 * Decides by a one-frame trial encode: hevc_nvenc being compiled in says nothing about a
 * working GPU and driver, so only a real encode counts.
 */
export async function detectHevcEncoder(
  opts: { signal?: AbortSignal } = {},
): Promise<HevcEncoderChoice> {
  const args = ['-hide_banner', '-nostdin', '-v', 'error'];
  args.push('-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=1');
  args.push('-frames:v', '1', '-c:v', 'hevc_nvenc', '-f', 'null', '-');
  try {
    await runFfmpeg(args, { signal: opts.signal });
    return { encoder: 'hevc_nvenc', reason: 'a trial encode with hevc_nvenc succeeded' };
  } catch (err) {
    if (!(err instanceof FfmpegFailedError)) throw err;
    const first = err.stderrTail[0]?.replace(/^\[[^\]]*\]\s*/, '') ?? err.message;
    return { encoder: 'libx265', reason: `hevc_nvenc trial encode failed: ${first}` };
  }
}
