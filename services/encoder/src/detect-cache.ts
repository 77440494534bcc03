// Encoder detection remembered in the state directory: a trial encode per GPU encoder costs
// seconds of both cores at every start (1.6 s here, where each fails for want of a GPU), and
// its answer only changes with the ffmpeg build, the GPU device nodes or the NVIDIA driver.
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ffmpegVersion } from '@conform/media';
import type { Logger } from '@conform/bus';
import { detectEncoders, type EncoderAvailability } from './detect.js';

/** The file in the state directory. */
export const DETECTION_CACHE_FILE = 'encoder-detection.json';

/** What the detection's answer depends on: when any of it changes, detection runs again. */
export interface DetectionKey {
  ffmpeg: string;
  /** `/dev/dri/*` and `/dev/nvidia*` names, sorted. */
  devices: string[];
  /** `/proc/driver/nvidia/version`, or null without the NVIDIA driver. */
  nvidiaDriver: string | null;
}

/** The machine's detection key, read now. */
export async function detectionKey(): Promise<DetectionKey> {
  const dri = (await readdir('/dev/dri').catch(() => [])).map((d) => `dri/${d}`);
  const nvidia = (await readdir('/dev').catch(() => [])).filter((d) => d.startsWith('nvidia'));
  return {
    ffmpeg: await ffmpegVersion(),
    devices: [...dri, ...nvidia].sort(),
    nvidiaDriver: await readFile('/proc/driver/nvidia/version', 'utf8').catch(() => null),
  };
}

/** The cached answer when it was made under `key`; null when absent, corrupt or stale. Pure. */
export function cachedAvailability(
  text: string | null,
  key: DetectionKey,
): EncoderAvailability[] | null {
  if (text === null) return null;
  try {
    const cached = JSON.parse(text) as { key?: unknown; availability?: unknown };
    if (JSON.stringify(cached.key) !== JSON.stringify(key)) return null;
    if (!Array.isArray(cached.availability)) return null;
    const valid = cached.availability.every(
      (a: Partial<EncoderAvailability>) =>
        typeof a.encoder === 'string' &&
        typeof a.codec === 'string' &&
        typeof a.backend === 'string' &&
        typeof a.works === 'boolean' &&
        typeof a.compiled === 'boolean' &&
        typeof a.reason === 'string',
    );
    return valid ? (cached.availability as EncoderAvailability[]) : null;
  } catch {
    return null;
  }
}

/**
 * Detection through the cache in `stateDir`: the stored answer when the key matches, else a
 * fresh detection, stored for the next start (a failure to store is logged, not fatal).
 */
export async function detectEncodersCached(
  stateDir: string,
  log: Logger,
  detect: () => Promise<EncoderAvailability[]> = () => detectEncoders(),
): Promise<EncoderAvailability[]> {
  const path = join(stateDir, DETECTION_CACHE_FILE);
  const key = await detectionKey();
  const text = await readFile(path, 'utf8').catch(() => null);
  const cached = cachedAvailability(text, key);
  if (cached) {
    log.info({ path }, 'encoder detection as cached for this ffmpeg and these devices');
    return cached;
  }
  if (text !== null)
    log.info({ path }, 'encoder detection cache is stale or unreadable; detecting');
  const availability = await detect();
  try {
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify({ key, availability }, null, 2)}\n`);
    await rename(tmp, path);
  } catch (err) {
    log.warn({ err, path }, 'could not store the encoder detection; it runs again next start');
  }
  return availability;
}
