// The verifier's tool runs, from media's helper process (spawner.ts) rather than from conform:
// a spawn from conform's large process forks it whole on its event loop first, a few ms each.
import { runTool as runInHelper, startToolHelper, ToolMissingError } from '@conform/media';

/** How a tool run ended, with its output. */
export interface ToolResult {
  exitCode: number | null;
  stdout: string;
  /** stderr, its middle elided when very long (a corrupt file can log millions of lines). */
  stderr: string;
}

/**
 * The verifier's niceness: 0, conform's own priority. Its decode is what stands between an
 * encode and the swap, and encodes (at niceness 19) yield to it; the planner's probes run
 * lower (PROBE_NICENESS), and a tool inherits its helper's niceness, so the verifier's tools
 * run from a helper of their own.
 */
export const VERIFY_NICENESS = 0;

/**
 * Runs ffmpeg or ffprobe to completion. Throws {@link ToolMissingError} when it is not
 * installed and the signal's reason when aborted (the child is killed first, at once).
 */
export async function runTool(
  command: 'ffmpeg' | 'ffprobe',
  args: string[],
  opts: { signal?: AbortSignal } = {},
): Promise<ToolResult> {
  if (opts.signal?.aborted) throw opts.signal.reason;
  const run = await runInHelper(command, args, {
    ...(opts.signal ? { signal: opts.signal } : {}),
    niceness: VERIFY_NICENESS,
    stderr: 'elide',
    forceKillAfterDelay: 0,
  });
  if (run.isCanceled) throw opts.signal?.reason ?? new Error(`${command} aborted`);
  if (run.code === 'ENOENT' && run.exitCode === undefined) throw new ToolMissingError(command);
  if (run.code !== undefined) throw new Error(`${command} could not be started (${run.code})`);
  return { exitCode: run.exitCode ?? null, stdout: run.stdout, stderr: run.stderr };
}

/**
 * Starts the verifier's helper process now (the verifier's start), so that the first
 * verification does not wait for a Node process to start.
 */
export function startVerifierTools(): void {
  startToolHelper(VERIFY_NICENESS);
}
