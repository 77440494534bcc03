import { formatBytes } from '@conform/contracts';
import { SIZE_CLASSES, sizeClassesServed, type SizeClass } from '@conform/bus';
import { EncoderConfigError } from './env.js';
import { EncoderError } from './errors.js';

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
const EXPECTED =
  'a size such as 8G, 500M, 1.5T or a number of bytes (K, M, G, T: powers of 1024; KB/KiB alike)';

/**
 * Parses `--max-file-size` / `CONFORM_MAX_FILE_SIZE`: bytes, or a number with K, M, G or T
 * (binary units, `G`, `GB` and `GiB` alike). Empty or absent: no limit (null). Pure; a bad value
 * is an {@link EncoderConfigError} naming `key` and what it expects.
 */
export function parseFileSize(key: string, raw: string | undefined): number | null {
  if (raw === undefined || raw.trim() === '') return null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(raw);
  if (!m) throw new EncoderConfigError(key, EXPECTED, raw);
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new EncoderConfigError(key, EXPECTED, raw);
  return bytes;
}

/** A node's maximum file size is below the smallest size class: it could take no work. */
export class MaxFileSizeTooSmallError extends EncoderError {
  constructor(maxFileSizeBytes: number) {
    super(
      'MAX_FILE_SIZE_TOO_SMALL',
      `a maximum file size of ${formatBytes(maxFileSizeBytes)} (--max-file-size, CONFORM_MAX_FILE_SIZE) ` +
        `is below the smallest size class, ${formatBytes(SIZE_CLASSES[0].maxBytes)}: this node could ` +
        `take no work. Work is routed by size classes of ${SIZE_CLASSES.filter((c) =>
          Number.isFinite(c.maxBytes),
        )
          .map((c) => formatBytes(c.maxBytes))
          .join(', ')} and any size.`,
    );
    this.name = 'MaxFileSizeTooSmallError';
  }
}

/** The size classes a node with this limit takes; throws when it would take none. */
export function takenSizeClasses(maxFileSizeBytes: number | null): SizeClass[] {
  const classes = sizeClassesServed(maxFileSizeBytes);
  if (classes.length === 0) throw new MaxFileSizeTooSmallError(maxFileSizeBytes!);
  return classes;
}
