import { execa } from 'execa';
import { FfmpegFailedError, ToolMissingError } from './errors.js';
import { runFfmpeg } from './ffmpeg.js';

/** The HEVC encoder to use on this machine and why it was chosen. */
export interface HevcEncoderChoice {
  encoder: 'hevc_nvenc' | 'libx265';
  reason: string;
}

/**
 * Video encoder names from `ffmpeg -encoders` output. Pure. Lines look like
 * ` V....D libx265   libx265 H.265 / HEVC (codec hevc)`; the legend above the `------` rule
 * is skipped.
 */
export function parseEncoderList(text: string): Set<string> {
  const names = new Set<string>();
  const body = text.includes('------') ? text.slice(text.indexOf('------')) : text;
  for (const line of body.split('\n')) {
    const m = /^\s*V[A-Z.]{5}\s+(\S+)/.exec(line);
    if (m?.[1]) names.add(m[1]);
  }
  return names;
}

/** The video encoders compiled into the installed ffmpeg. */
export async function listFfmpegEncoders(): Promise<Set<string>> {
  const result = await execa('ffmpeg', ['-hide_banner', '-encoders'], { reject: false });
  if (result.code === 'ENOENT') throw new ToolMissingError('ffmpeg');
  if (result.failed) {
    throw new FfmpegFailedError(result.exitCode ?? null, String(result.stderr).split('\n'));
  }
  return parseEncoderList(String(result.stdout));
}

/** What a trial encode showed. */
export type TrialOutcome = { ok: true } | { ok: false; reason: string };

/**
 * Runs a short trial encode (`args` must write to `-f null -`) and reports whether it worked;
 * the reason is ffmpeg's first error line without its `[codec @ 0x…]` prefix.
 */
export async function trialEncode(
  args: string[],
  opts: { signal?: AbortSignal } = {},
): Promise<TrialOutcome> {
  try {
    await runFfmpeg(args, { signal: opts.signal });
    return { ok: true };
  } catch (err) {
    if (!(err instanceof FfmpegFailedError)) throw err;
    const first = err.stderrTail[0]?.replace(/^\[[^\]]*\]\s*/, '') ?? err.message;
    return { ok: false, reason: first };
  }
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
  const trial = await trialEncode(args, opts);
  if (trial.ok)
    return { encoder: 'hevc_nvenc', reason: 'a trial encode with hevc_nvenc succeeded' };
  return { encoder: 'libx265', reason: `hevc_nvenc trial encode failed: ${trial.reason}` };
}

/** ffmpeg's first `-version` line (`ffmpeg version 5.1.6-0+deb12u1 Copyright …`). */
export async function ffmpegVersion(): Promise<string> {
  const result = await execa('ffmpeg', ['-hide_banner', '-version'], { reject: false });
  if (result.code === 'ENOENT') throw new ToolMissingError('ffmpeg');
  if (result.failed) {
    throw new FfmpegFailedError(result.exitCode ?? null, String(result.stderr).split('\n'));
  }
  return String(result.stdout).split('\n')[0] ?? '';
}
