import { setPriority } from 'node:os';

/**
 * CPU niceness of probing: the in-process prober's thread and the tools the spawner starts
 * (ffprobe). Probing is background work like encoding, but ahead of it (encodes run at 19, see
 * the encoder's DEFAULT_ENCODE_NICENESS), so plans keep coming while encodes run; and behind
 * the main thread, which serves the status API and takes a library into the read model. On an
 * idle machine a probe still gets a whole core.
 */
export const PROBE_NICENESS = 5;

/**
 * Lowers the calling thread to `niceness`. Linux keeps the nice value per thread, so this
 * touches neither the other threads of the process nor the main thread when called from a
 * worker; processes the thread starts inherit it. Elsewhere (one value per process) it does
 * nothing. A refusal (a container without the right) leaves the priority as it was.
 */
export function lowerThisThread(niceness: number = PROBE_NICENESS): void {
  if (process.platform !== 'linux') return;
  try {
    setPriority(niceness);
  } catch {
    // Not allowed here: run at the priority we have.
  }
}
