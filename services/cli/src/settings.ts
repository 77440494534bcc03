import { relativeInside } from '@conform/contracts';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import type { QualityConfig } from '@conform/config';
import { PathMap } from '@conform/bus';
import {
  DEFAULT_ENCODE_NICENESS,
  LOWEST_NICENESS,
  ENCODER_NAMES,
  isEncoderName,
  parseFileSize,
  type EncoderName,
} from '@conform/encoder';
import { UsageError } from './errors.js';
import { FLAG_ENV } from './options.js';

/** One watched library and where its originals are archived. */
export interface LibrarySettings {
  root: string;
  archive: string;
  /** `archive` (default), `keep` beside the file, or delete from the archive after N days. */
  originals?: 'archive' | 'keep' | { deleteAfterDays: number };
  /** Give replacements the original's mtime too (quality.yaml `keepMtime`). */
  keepMtime?: boolean;
  /** Hours before leftovers of failed swaps are cleaned (quality.yaml `workRetentionHours`). */
  workRetentionHours?: number;
  /** Which files are watched and how (globs, extensions, polling, rescan interval). */
  watch?: {
    include?: string[];
    exclude?: string[];
    extensions?: string[];
    usePolling?: boolean;
    rescanIntervalMs?: number;
  };
}

/** Everything `conform up` needs, after flags and environment are merged. */
export interface ConformSettings {
  libraries: LibrarySettings[];
  stateDir: string;
  /** External NATS; when absent an embedded nats-server is started under stateDir. */
  natsUrl: string | null;
  /** How long a start waits for NATS to be reachable (--nats-wait, env CONFORM_NATS_WAIT; seconds in, ms here); 0: one attempt. */
  natsWaitMs: number;
  host: string;
  port: number;
  stabilityWindowMs: number;
  encoderSlots: number;
  /** The largest source this node's encoder takes (--max-file-size, CONFORM_MAX_FILE_SIZE); null: any. */
  maxFileSizeBytes: number | null;
  encoder: 'auto' | EncoderName;
  /** CPU niceness of the encodes' ffmpeg (--encode-nice, CONFORM_ENCODE_NICE). */
  encodeNiceness: number;
  eventLogMaxBytes: number | undefined;
  /** Replicas of the event log and its consumers (--replicas, CONFORM_STREAM_REPLICAS): 1 on one box, 3 on a cluster. */
  streamReplicas: number;
  /** nats-server tags the replicas must sit on (CONFORM_PLACEMENT_TAGS, comma-separated). */
  placementTags: string[];
  /** This node's view of the canonical (watcher) paths (--path-map FROM=TO, CONFORM_PATH_MAP). */
  pathMap: PathMap;
  /** The quality.yaml given with --config; absent: the built-in default policy. */
  quality?: QualityConfig;
  /** Bearer token for the status API's control endpoints (env CONFORM_CONTROL_TOKEN); none: they answer 403. */
  controlToken: string | null;
  /** Where a service run alone serves /metrics (--metrics-port, env CONFORM_METRICS_PORT); null: not served. */
  metricsPort: number | null;
}

/** Flags as commander hands them over (all strings). */
export interface RawFlags {
  library?: string;
  archive?: string;
  stateDir?: string;
  nats?: string;
  natsWait?: string;
  host?: string;
  port?: string;
  stabilityWindow?: string;
  slots?: string;
  encodeNice?: string;
  maxFileSize?: string;
  /** Whether --max-file-size's value came from CONFORM_MAX_FILE_SIZE (named in its error). */
  maxFileSizeFromEnv?: boolean;
  encoder?: string;
  metricsPort?: string;
  replicas?: string;
  /** Repeatable `--path-map FROM=TO`. */
  pathMap?: string[];
}

/** A value a parser of another package refused, as a usage error (exit code 2). */
function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export const DEFAULT_PORT = 8484;
/** A service started before its NATS waits this long for it (compose starts everything at once). */
export const DEFAULT_NATS_WAIT_SECONDS = 300;

/**
 * The state directory when neither --state-dir nor CONFORM_STATE_DIR (its `.env()`, see
 * options.ts) names one: $XDG_STATE_HOME/conform, else ~/.local/state/conform.
 */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'conform');
}

/**
 * Turns parsed flags into settings. commander has already applied each flag's environment
 * variable (options.ts), so `flags` holds flag > environment; `env` supplies only what has no
 * flag: CONFORM_CONTROL_TOKEN (a secret, never a flag: command lines are visible to every user),
 * CONFORM_PLACEMENT_TAGS, CONFORM_EVENT_LOG_MAX_BYTES and the XDG default state directory.
 * Pure apart from `env`; directory checks happen in {@link checkLibraries}.
 */
export function resolveSettings(
  flags: RawFlags,
  env: NodeJS.ProcessEnv = process.env,
  opts: { requireLibrary: boolean } = { requireLibrary: true },
): ConformSettings {
  const libraries: LibrarySettings[] = [];
  if (flags.library || flags.archive) {
    if (!flags.library) throw new UsageError('--archive needs --library DIR as well');
    if (!flags.archive) {
      throw new UsageError(
        '--library needs --archive DIR: originals are archived there before a file is replaced',
      );
    }
    libraries.push({ root: resolve(flags.library), archive: resolve(flags.archive) });
  } else if (opts.requireLibrary) {
    throw new UsageError('give a library to watch: --library DIR --archive DIR');
  }
  const port = parseInteger('--port', flags.port, DEFAULT_PORT, 0, 65535);
  const metricsPort = flags.metricsPort;
  return {
    controlToken: env.CONFORM_CONTROL_TOKEN || null,
    metricsPort: metricsPort ? parseInteger('--metrics-port', metricsPort, 0, 0, 65535) : null,
    libraries,
    stateDir: resolve(flags.stateDir || defaultStateDir(env)),
    natsUrl: flags.nats || null,
    natsWaitMs:
      1000 * parseInteger('--nats-wait', flags.natsWait, DEFAULT_NATS_WAIT_SECONDS, 0, 86_400),
    host: flags.host || '127.0.0.1',
    port,
    stabilityWindowMs: parseInteger(
      '--stability-window',
      flags.stabilityWindow,
      5_000,
      0,
      3_600_000,
    ),
    encoderSlots: parseInteger('--slots', flags.slots, 1, 1, 64),
    maxFileSizeBytes: usage(() =>
      parseFileSize(
        flags.maxFileSizeFromEnv ? FLAG_ENV.maxFileSize : '--max-file-size',
        flags.maxFileSize,
      ),
    ),
    encoder: parseEncoder(flags.encoder),
    encodeNiceness: parseInteger(
      '--encode-nice',
      flags.encodeNice,
      DEFAULT_ENCODE_NICENESS,
      0,
      LOWEST_NICENESS,
    ),
    // JetStream allows 1 to 5 replicas; an even count buys nothing over the odd one below it.
    streamReplicas: parseInteger('--replicas', flags.replicas, 1, 1, 5),
    // Flags replace the environment's list rather than adding to it (commander: flag > env).
    pathMap: PathMap.parse(flags.pathMap ?? []),
    placementTags: (env.CONFORM_PLACEMENT_TAGS ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
    eventLogMaxBytes: env.CONFORM_EVENT_LOG_MAX_BYTES
      ? parseInteger(
          'CONFORM_EVENT_LOG_MAX_BYTES',
          env.CONFORM_EVENT_LOG_MAX_BYTES,
          0,
          1,
          Number.MAX_SAFE_INTEGER,
        )
      : undefined,
  };
}

/** Checks each library is an existing directory and the archive is not inside it. */
export async function checkLibraries(libraries: LibrarySettings[]): Promise<void> {
  for (const lib of libraries) {
    const s = await stat(lib.root).catch(() => null);
    if (!s?.isDirectory()) throw new UsageError(`library ${lib.root} is not a directory`);
    if (lib.originals !== 'keep' && isInside(lib.archive, lib.root)) {
      throw new UsageError(
        `archive ${lib.archive} is inside library ${lib.root}: archived originals would be watched again`,
      );
    }
  }
}

function isInside(child: string, parent: string): boolean {
  const c = resolve(child);
  const p = resolve(parent);
  return c === p || relativeInside(p, c) !== null;
}

function parseInteger(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}

function parseEncoder(raw: string | undefined): ConformSettings['encoder'] {
  if (raw === undefined) return 'auto';
  if (raw === 'auto' || isEncoderName(raw)) return raw;
  throw new UsageError(
    `--encoder must be auto or one of ${ENCODER_NAMES.join(', ')}, got "${raw}"`,
  );
}
