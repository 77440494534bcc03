import { Ajv, type ValidateFunction } from 'ajv';
import type { EventEnvelope } from './envelope.js';
import { eventSchemas } from './schemas.js';
import { eventUpcasters, type Upcaster } from './upcasting.js';
import { createEventReader, readEvent, type DecodeResult } from './validation.js';

type Schema = Record<string, unknown>;

/** Decodes many messages at once, each as {@link decodeEvent} would. */
export interface BatchDecoder {
  /** One result per payload, in order; never throws. */
  decodeBatch(payloads: readonly Uint8Array[]): DecodeResult[];
  /** One payload (the same fast path). */
  decode(bytes: Uint8Array): DecodeResult;
  /** One payload already decoded from UTF-8 (see {@link decodeUtf8Run}). */
  decodeText(json: string): DecodeResult;
}

/**
 * A decoder for reading the log in bulk (replay, catch-up). Valid events of the latest version
 * take a fast path: one validator per type, compiled on first use and stopping at the first
 * error (ajv `allErrors: false`), with the same tolerant reading as the event reader (unknown
 * keys removed). Anything else — malformed JSON, an unknown type, an old version to upcast, a
 * newer version, a failed check — goes through the full event reader, so its error lists every
 * problem exactly as {@link decodeEvent} reports it. The result is the same as
 * {@link decodeEvent}'s for every input; only valid events are cheaper.
 */
export function createBatchDecoder(
  opts: { schemas?: Record<string, Schema>; upcasters?: readonly Upcaster[] } = {},
): BatchDecoder {
  const schemas = opts.schemas ?? eventSchemas;
  // The catalogue's reader is compiled already (decodeEvent uses it); only a custom catalogue
  // needs one of its own.
  const read =
    opts.schemas || opts.upcasters
      ? createEventReader({ schemas, upcasters: opts.upcasters ?? eventUpcasters }).read
      : readEvent;
  const ajv = new Ajv({
    allErrors: false,
    strict: true,
    allowUnionTypes: true,
    removeAdditional: true,
    // The schemas are the catalogue's constants, checked against the meta-schema by the
    // contract tests and by every strict validator; checking them again here compiled the
    // meta-schema in each bulk reader (about a third of its start-up).
    validateSchema: false,
  });
  // `<type>` → the schema of its newest version, and that version.
  const latest = new Map<string, { version: number; schema: Schema }>();
  for (const [key, schema] of Object.entries(schemas)) {
    const [type, v] = key.split('@v');
    const version = Number(v);
    if ((latest.get(type!)?.version ?? 0) < version) latest.set(type!, { version, schema });
  }
  const compiled = new Map<string, ValidateFunction | null>();
  const fastFor = (type: unknown, version: unknown): ValidateFunction | null => {
    if (typeof type !== 'string') return null;
    let validate = compiled.get(type);
    if (validate === undefined) {
      const newest = latest.get(type);
      validate = newest ? ajv.compile(newest.schema) : null;
      compiled.set(type, validate);
    }
    return validate && latest.get(type)!.version === version ? validate : null;
  };
  const text = new TextDecoder();

  const decodeText = (json: string): DecodeResult => {
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch (err) {
      return { ok: false, error: `payload is not JSON: ${(err as Error).message}` };
    }
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const { type, version } = value as { type?: unknown; version?: unknown };
      const fast = fastFor(type, version);
      if (fast?.(value)) return { ok: true, event: value as EventEnvelope };
    }
    // Removing unknown keys is idempotent, so a value the fast check already trimmed reads
    // the same; the full reader says everything that is wrong with it.
    return read(value);
  };
  const decode = (bytes: Uint8Array) => decodeText(text.decode(bytes));
  return {
    decode,
    decodeText,
    decodeBatch: (payloads) => {
      const out = new Array<DecodeResult>(payloads.length);
      for (let i = 0; i < payloads.length; i++) out[i] = decode(payloads[i]!);
      return out;
    },
  };
}

/**
 * Many payloads laid end to end in `bytes` (payload i is `offsets[i]..offsets[i + 1]`) decoded
 * from UTF-8 with one call instead of one per payload: payload i's text, or null when the run
 * decoded to fewer characters than it has bytes (then decode each payload alone). UTF-8 gives
 * at most one character per byte, so the same count means every byte was one character of its
 * own (ASCII, or an invalid byte replaced alone): no multi-byte sequence or byte-order mark,
 * nothing straddling two payloads, and each slice is exactly what decoding its payload alone
 * gives.
 */
export function decodeUtf8Run(
  bytes: Uint8Array,
  offsets: ArrayLike<number>,
  count: number,
): ((i: number) => string) | null {
  const end = offsets[count]!;
  const all = runDecoder.decode(bytes.subarray(offsets[0], end));
  if (all.length !== end - offsets[0]!) return null;
  const base = offsets[0]!;
  return (i) => all.slice(offsets[i]! - base, offsets[i + 1]! - base);
}

const runDecoder = new TextDecoder();

let defaultDecoder: BatchDecoder | null = null;

/** Decodes a batch with the catalogue's schemas and upcasters (see {@link createBatchDecoder}). */
export function decodeEventBatch(payloads: readonly Uint8Array[]): DecodeResult[] {
  return (defaultDecoder ??= createBatchDecoder()).decodeBatch(payloads);
}
