/**
 * The one free-space rule the planner and the encoder share. An encode needs room for its
 * output on the library's filesystem (the work folder is there, so the swap is a rename):
 * the estimated output (the source size when there is no estimate) plus a margin for the
 * estimate being off, or the policy's reserve (`guardrails.minFreeDiskGB`) when that is more.
 */
export const FREE_SPACE_MARGIN_PERCENT = 10;

/** What one encode needs free, and why, in words. */
export interface FreeSpaceNeed {
  bytes: number;
  why: string;
}

/** The free bytes one encode needs. Pure. */
export function freeSpaceNeeded(input: {
  estimatedOutputBytes: number | null;
  sourceBytes: number;
  /** The policy's floor, in bytes; 0 for none. */
  reserveBytes: number;
}): FreeSpaceNeed {
  const estimated = input.estimatedOutputBytes !== null && input.estimatedOutputBytes > 0;
  const output = estimated ? input.estimatedOutputBytes! : Math.max(0, input.sourceBytes);
  const working = Math.ceil((output * (100 + FREE_SPACE_MARGIN_PERCENT)) / 100);
  if (input.reserveBytes > working) {
    return {
      bytes: input.reserveBytes,
      why: `the policy's reserve ${formatBytes(input.reserveBytes)}`,
    };
  }
  const what = estimated ? 'estimated output' : 'source size, no estimate';
  return {
    bytes: working,
    why: `${what} ${formatBytes(output)} + ${FREE_SPACE_MARGIN_PERCENT} %`,
  };
}

/** Checks free space against a need; the reason names the path and both sizes. Pure. */
export function checkFreeSpace(
  freeBytes: number,
  need: FreeSpaceNeed,
  path: string,
): { ok: true } | { ok: false; reason: string } {
  if (freeBytes >= need.bytes) return { ok: true };
  return {
    ok: false,
    reason: `free space ${formatBytes(freeBytes)} on ${path} is below the ${formatBytes(need.bytes)} needed (${need.why})`,
  };
}

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** Bytes in words with binary units: `512 B`, `3.0 KiB`, `12.3 MiB`, `1.5 GiB`. Pure. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  const sign = bytes < 0 ? '-' : '';
  let n = Math.abs(bytes);
  if (n < 1024) return `${sign}${Math.round(n)} B`;
  let unit: (typeof UNITS)[number] = UNITS[0];
  for (const u of UNITS) {
    unit = u;
    n /= 1024;
    if (n < 1024) break;
  }
  return `${sign}${n.toFixed(1)} ${unit}`;
}
