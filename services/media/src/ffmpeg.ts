import { execa } from 'execa';
import { FfmpegAbortedError, FfmpegFailedError, ToolMissingError } from './errors.js';
import { parseProgressBlock, ProgressLineReader, type FfmpegProgress } from './progress.js';

export interface RunFfmpegOptions {
  /** Kills ffmpeg (SIGTERM, SIGKILL 2 s later) and rejects with {@link FfmpegAbortedError}. */
  signal?: AbortSignal;
  /** Input duration, to turn output time into a percentage. */
  durationSec?: number | null;
  onProgress?: (p: FfmpegProgress) => void;
}

const STDERR_TAIL_LINES = 20;

/**
 * Runs ffmpeg with `args` plus `-progress pipe:1 -nostats`, reporting progress as it goes.
 * Resolves when ffmpeg exits 0; otherwise rejects with {@link FfmpegFailedError} carrying the
 * last stderr lines. The promise settles only after the process has exited, and `cleanup`
 * kills ffmpeg if this Node process exits first.
 */
export async function runFfmpeg(args: string[], opts: RunFfmpegOptions = {}): Promise<void> {
  if (opts.signal?.aborted) throw new FfmpegAbortedError({ cause: opts.signal.reason });
  const child = execa('ffmpeg', ['-progress', 'pipe:1', '-nostats', ...args], {
    reject: false,
    buffer: false,
    stdin: 'ignore',
    cleanup: true,
    cancelSignal: opts.signal,
    forceKillAfterDelay: 2_000,
  });
  const stderrTail: string[] = [];
  let stderrPartial = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    const lines = (stderrPartial + chunk).split(/\r?\n|\r/);
    stderrPartial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      stderrTail.push(line.trim());
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
    }
  });
  const reader = new ProgressLineReader((block) => {
    opts.onProgress?.(parseProgressBlock(block, opts.durationSec ?? null));
  });
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => reader.push(chunk));

  const result = await child;
  if (stderrPartial.trim()) stderrTail.push(stderrPartial.trim());
  if (result.code === 'ENOENT' && result.exitCode === undefined) {
    throw new ToolMissingError('ffmpeg');
  }
  if (result.isCanceled) throw new FfmpegAbortedError({ cause: opts.signal?.reason });
  if (result.failed) {
    throw new FfmpegFailedError(result.exitCode ?? null, stderrTail.slice(-STDERR_TAIL_LINES));
  }
}
