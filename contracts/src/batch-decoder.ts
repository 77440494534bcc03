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
    // meta-schema in each bulk reader (about a third of its validators' start-up).
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

  const decode = (bytes: Uint8Array): DecodeResult => {
    let value: unknown;
    try {
      value = JSON.parse(text.decode(bytes));
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
  return {
    decode,
    decodeBatch: (payloads) => {
      const out = new Array<DecodeResult>(payloads.length);
      for (let i = 0; i < payloads.length; i++) out[i] = decode(payloads[i]!);
      return out;
    },
  };
}

let defaultDecoder: BatchDecoder | null = null;

/** Decodes a batch with the catalogue's schemas and upcasters (see {@link createBatchDecoder}). */
export function decodeEventBatch(payloads: readonly Uint8Array[]): DecodeResult[] {
  return (defaultDecoder ??= createBatchDecoder()).decodeBatch(payloads);
}
