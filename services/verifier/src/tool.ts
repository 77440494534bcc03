import { spawn } from 'node:child_process';
import { ToolMissingError } from '@conform/media';

/** How a tool run ended, with its output. */
export interface ToolResult {
  exitCode: number | null;
  stdout: string;
  /** stderr, its middle elided when very long (a corrupt file can log millions of lines). */
  stderr: string;
}

const STDERR_HEAD = 64 * 1024;
const STDERR_TAIL = 8 * 1024;

/**
 * Runs ffmpeg or ffprobe to completion. Throws {@link ToolMissingError} when it is not
 * installed and the signal's reason when aborted (the child is killed first).
 */
export function runTool(
  command: 'ffmpeg' | 'ffprobe',
  args: string[],
  opts: { signal?: AbortSignal } = {},
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(opts.signal.reason);
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let head = '';
    let tail = '';
    let elided = false;
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (head.length < STDERR_HEAD) {
        head += d;
        return;
      }
      tail = (tail + d).slice(-STDERR_TAIL);
      elided = true;
    });
    const onAbort = () => child.kill('SIGKILL');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (err: NodeJS.ErrnoException) => {
      opts.signal?.removeEventListener('abort', onAbort);
      reject(err.code === 'ENOENT' ? new ToolMissingError(command) : err);
    });
    child.once('close', (code) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (opts.signal?.aborted) return reject(opts.signal.reason);
      resolve({
        exitCode: code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: elided ? `${head}\n[...]\n${tail}` : head,
      });
    });
  });
}
