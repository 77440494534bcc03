import { EncoderError } from './errors.js';
import { minutesOf, type ScheduleWindow } from './schedule.js';
import type { EncoderOptions } from './options.js';

/** An encoder environment variable holds a value it cannot take. */
export class EncoderConfigError extends EncoderError {
  readonly key: string;
  constructor(key: string, expected: string, got: string) {
    super('ENCODER_CONFIG', `${key} must be ${expected}, got "${got}"`);
    this.name = 'EncoderConfigError';
    this.key = key;
  }
}

/**
 * Encoder tuning from the environment (12-factor): `CONFORM_ENCODER_ACK_WAIT_MS`,
 * `CONFORM_ENCODER_MAX_IN_FLIGHT`, `CONFORM_ENCODER_MAX_DELIVER`, `CONFORM_ENCODER_RETRY_DELAY_MS`,
 * `CONFORM_MIN_FREE_BYTES`, `CONFORM_CPU_FALLBACK_AFTER_MS`, `CONFORM_ROUTE_PREFER`, `CONFORM_QUIET_WINDOWS` (`HH:MM-HH:MM,…`), `CONFORM_NODE`. Pure;
 * throws {@link EncoderConfigError} naming the variable and what it expects.
 */
export function encoderOptionsFromEnv(env: NodeJS.ProcessEnv): Partial<EncoderOptions> {
  const opts: Partial<EncoderOptions> = {};
  const int = (key: string, min: number): number | undefined => {
    const raw = env[key];
    if (raw === undefined || raw === '') return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min)
      throw new EncoderConfigError(key, `a whole number ≥ ${min}`, raw);
    return n;
  };
  const ackWaitMs = int('CONFORM_ENCODER_ACK_WAIT_MS', 1_000);
  if (ackWaitMs !== undefined) opts.ackWaitMs = ackWaitMs;
  const maxInFlight = int('CONFORM_ENCODER_MAX_IN_FLIGHT', 1);
  if (maxInFlight !== undefined) opts.maxInFlight = maxInFlight;
  const maxDeliver = int('CONFORM_ENCODER_MAX_DELIVER', 1);
  if (maxDeliver !== undefined) opts.maxDeliver = maxDeliver;
  const retryDelayMs = int('CONFORM_ENCODER_RETRY_DELAY_MS', 0);
  if (retryDelayMs !== undefined) opts.retryDelayMs = retryDelayMs;
  const minFreeBytes = int('CONFORM_MIN_FREE_BYTES', 0);
  if (minFreeBytes !== undefined) opts.minFreeBytes = minFreeBytes;
  const fallback = int('CONFORM_CPU_FALLBACK_AFTER_MS', 0);
  if (fallback !== undefined) opts.cpuFallbackAfterMs = fallback;
  const prefer = env.CONFORM_ROUTE_PREFER;
  if (prefer !== undefined && prefer !== '') {
    if (prefer !== 'gpu' && prefer !== 'cpu') {
      throw new EncoderConfigError('CONFORM_ROUTE_PREFER', 'gpu or cpu', prefer);
    }
    opts.routePreference = prefer;
  }
  if (env.CONFORM_NODE) opts.node = env.CONFORM_NODE;
  if (env.CONFORM_QUIET_WINDOWS) opts.quietWindows = parseQuietWindows(env.CONFORM_QUIET_WINDOWS);
  return opts;
}

/** Parses `HH:MM-HH:MM,HH:MM-HH:MM`. */
export function parseQuietWindows(raw: string): ScheduleWindow[] {
  return raw.split(',').map((part) => {
    const [from, to, extra] = part.trim().split('-');
    const expected = 'comma-separated HH:MM-HH:MM windows';
    if (!from || !to || extra !== undefined)
      throw new EncoderConfigError('CONFORM_QUIET_WINDOWS', expected, raw);
    try {
      minutesOf(from);
      minutesOf(to);
    } catch {
      throw new EncoderConfigError('CONFORM_QUIET_WINDOWS', expected, raw);
    }
    return { from, to };
  });
}
