import { execa } from 'execa';
import { ToolMissingError } from './errors.js';

/** Files up to this long are read whole; longer ones in {@link SAMPLE_WINDOWS} windows. */
const WHOLE_FILE_MAX_SEC = 600;
const SAMPLE_WINDOWS = 3;
const WINDOW_SEC = 30;

/**
 * The stretches `ffprobe -read_intervals` reads to measure stream sizes: the whole file when
 * it is short or of unknown length, else 30 s at a quarter, half and three quarters. Pure.
 */
export function packetSampleWindows(
  durationSec: number | null,
): { startSec: number; lengthSec: number }[] | null {
  if (durationSec === null || durationSec <= WHOLE_FILE_MAX_SEC) return null;
  return Array.from({ length: SAMPLE_WINDOWS }, (_, i) => ({
    startSec: Math.round((durationSec * (i + 1)) / (SAMPLE_WINDOWS + 1)),
    lengthSec: WINDOW_SEC,
  }));
}

/**
 * Sums `stream_index,size` CSV lines (ffprobe's `-show_entries packet=stream_index,size`) per
 * stream. Lines that are not two numbers are ignored. Pure.
 */
export function sumPacketSizes(csv: string): Map<number, number> {
  const bytes = new Map<number, number>();
  for (const line of csv.split('\n')) {
    const [index, size] = line.trim().split(',').map(Number);
    if (!Number.isInteger(index) || !Number.isFinite(size) || size! < 0) continue;
    bytes.set(index!, (bytes.get(index!) ?? 0) + size!);
  }
  return bytes;
}

/**
 * Measures each stream's bit rate from its packet sizes, for files whose container records
 * none (ffmpeg-written Matroska has no BPS tags): the packets of the whole file, or of three
 * 30 s windows of a long one, without decoding anything. Keyed by ffprobe's stream index;
 * empty when the duration is unknown or ffprobe could not read the file. Throws only when ffprobe is missing.
 */
export async function measureStreamBitRates(
  path: string,
  durationSec: number | null,
  opts: { signal?: AbortSignal } = {},
): Promise<Map<number, number>> {
  // Without a duration no rate follows from a byte count (nor does the estimate need one).
  if (durationSec === null || durationSec <= 0) return new Map();
  const windows = packetSampleWindows(durationSec);
  const result = await execa(
    'ffprobe',
    [
      '-v',
      'error',
      ...(windows
        ? ['-read_intervals', windows.map((w) => `${w.startSec}%+${w.lengthSec}`).join(',')]
        : []),
      '-show_entries',
      'packet=stream_index,size',
      '-of',
      'csv=p=0',
      path,
    ],
    {
      reject: false,
      stdin: 'ignore',
      cancelSignal: opts.signal,
      forceKillAfterDelay: 2_000,
      maxBuffer: 512 * 1024 * 1024,
    },
  );
  if (result.code === 'ENOENT' && result.exitCode === undefined) {
    throw new ToolMissingError('ffprobe');
  }
  if (result.isCanceled) throw opts.signal?.reason ?? new Error('packet measure aborted');
  if (result.failed) return new Map();
  const seconds = windows ? windows.reduce((s, w) => s + w.lengthSec, 0) : durationSec;
  const rates = new Map<number, number>();
  for (const [index, bytes] of sumPacketSizes(String(result.stdout ?? ''))) {
    rates.set(index, Math.round((bytes * 8) / seconds));
  }
  return rates;
}
