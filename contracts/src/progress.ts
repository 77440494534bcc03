import { Ajv } from 'ajv';
import { FILE_ID_PATTERN } from './envelope.js';

/**
 * Encode progress is ephemeral: published with core NATS (not stored in the event log) on
 * `conform.progress.<fileId>`, at most once a second per running encode. A subscriber that
 * misses some loses nothing; the stream's encode.started/completed events are the truth.
 */
export const PROGRESS_SUBJECT_PREFIX = 'conform.progress';

/** Subscribe to every file's progress with this. */
export const PROGRESS_SUBJECT_WILDCARD = `${PROGRESS_SUBJECT_PREFIX}.*`;

/** The subject one file's encode progress is published on. */
export function progressSubjectFor(fileId: string): string {
  return `${PROGRESS_SUBJECT_PREFIX}.${fileId}`;
}

/** One progress update of a running encode (JSON on the wire). */
export interface EncodeProgressMessage {
  fileId: string;
  library: string;
  path: string;
  /** The encoder node and ffmpeg encoder, e.g. `encoder@nas`, `libx265`. */
  node: string;
  encoder: string;
  /** Delivery attempt of the plan being encoded, 1 on the first. */
  attempt: number;
  /** 0–100, null when the source duration is unknown. */
  percent: number | null;
  fps: number | null;
  /** Multiple of real time. */
  speed: number | null;
  /** Seconds left at the current speed, null when unknown. */
  etaSec: number | null;
  outTimeSec: number;
  /** Bytes written so far, null when ffmpeg has not said. */
  outBytes: number | null;
  /** ISO-8601 time of the update. */
  time: string;
}

const nullableNumber = { type: ['number', 'null'], minimum: 0 } as const;

/** JSON Schema (draft-07) of {@link EncodeProgressMessage}. */
export const encodeProgressSchema = {
  $id: 'https://conform.dev/schemas/encode.progress.v1.json',
  title: 'encode progress v1 (ephemeral, core NATS)',
  type: 'object',
  required: [
    'fileId',
    'library',
    'path',
    'node',
    'encoder',
    'attempt',
    'percent',
    'fps',
    'speed',
    'etaSec',
    'outTimeSec',
    'outBytes',
    'time',
  ],
  additionalProperties: false,
  properties: {
    fileId: { type: 'string', pattern: FILE_ID_PATTERN },
    library: { type: 'string', pattern: '^/' },
    path: { type: 'string', pattern: '^/' },
    node: { type: 'string', minLength: 1 },
    encoder: { type: 'string', minLength: 1 },
    attempt: { type: 'integer', minimum: 1 },
    percent: { type: ['number', 'null'], minimum: 0, maximum: 100 },
    fps: nullableNumber,
    speed: nullableNumber,
    etaSec: nullableNumber,
    outTimeSec: { type: 'number', minimum: 0 },
    outBytes: nullableNumber,
    time: { type: 'string', minLength: 1 },
  },
} as const;

const validateProgress = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(
  encodeProgressSchema,
);

/** Parses a progress message from the wire, never throwing. */
export function decodeProgress(
  bytes: Uint8Array,
): { ok: true; progress: EncodeProgressMessage } | { ok: false; error: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    return { ok: false, error: `payload is not JSON: ${(err as Error).message}` };
  }
  if (!validateProgress(parsed)) {
    const errors = validateProgress.errors ?? [];
    return {
      ok: false,
      error: errors.map((e) => `${e.instancePath || '/'}: ${e.message ?? 'invalid'}`).join('; '),
    };
  }
  return { ok: true, progress: parsed as EncodeProgressMessage };
}
