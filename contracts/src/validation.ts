import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { EventEnvelope } from './envelope.js';
import { isEventType } from './event-types.js';
import { eventSchemas } from './schemas.js';
import { ContractViolationError } from './errors.js';
import { eventUpcasters, type Upcaster } from './upcasting.js';

type Schema = Record<string, unknown>;

export type ValidationResult = { ok: true; event: EventEnvelope } | { ok: false; error: string };

/**
 * What a reader made of a message. `newer` marks an event of a version this node does not know
 * yet (written by an upgraded node): not malformed, just not for this node to interpret.
 */
export type DecodeResult =
  { ok: true; event: EventEnvelope } | { ok: false; error: string; newer?: boolean };

// Publish is strict: `additionalProperties: false` keeps producers honest, a new field is a
// deliberate contract change. Consume is tolerant: the same schemas, but keys this version
// does not know are removed before the handler sees the event (ajv `removeAdditional`), so a
// newer producer's optional field is neither a reason to dead-letter nor copied by an older
// handler into an event it publishes (which the strict check would then refuse).
const strictAjv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const strictValidators = lazyValidators(strictAjv, eventSchemas);

/** Validators by `<type>@v<n>`, each compiled on first use. */
interface Validators {
  get(key: string): ValidateFunction | undefined;
}

// Compiling every schema up front cost each process (every service, every CLI command, a
// replay's writer thread) a few hundred milliseconds of start-up, twice over (strict and
// tolerant); most use a handful of types. The contract tests compile and check every one.
function lazyValidators(ajv: Ajv, schemas: Record<string, Schema>): Validators {
  const compiled = new Map<string, ValidateFunction>();
  return {
    get(key) {
      let validate = compiled.get(key);
      if (!validate && Object.hasOwn(schemas, key)) {
        validate = ajv.compile(schemas[key]!);
        compiled.set(key, validate);
      }
      return validate;
    },
  };
}

/** Checks an unknown value strictly against the schema its own `type` and `version` name. */
export function validateEvent(value: unknown): ValidationResult {
  const found = validatorFor(value, strictValidators);
  if (!found.ok) return found;
  return run(found.validate, value);
}

/** Like {@link validateEvent} but throws a {@link ContractViolationError}. */
export function assertValidEvent(value: unknown): EventEnvelope {
  const result = validateEvent(value);
  if (!result.ok) throw new ContractViolationError(result.error);
  return result.event;
}

/** Reads events from the bus: tolerant of unknown keys, upcasting old versions to the latest. */
export interface EventReader {
  /** Parses bytes into an event of the latest version, never throwing. */
  decode(bytes: Uint8Array): DecodeResult;
  /** The same for an already-parsed value (it is modified: unknown keys are removed). */
  read(value: unknown): DecodeResult;
}

/**
 * A reader over `schemas` (keyed `<type>@v<n>`; every version ever published stays) and the
 * `upcasters` between consecutive versions. The default reader uses the catalogue's.
 */
export function createEventReader(
  opts: { schemas?: Record<string, Schema>; upcasters?: readonly Upcaster[] } = {},
): EventReader {
  const schemas = opts.schemas ?? eventSchemas;
  const ajv = new Ajv({
    allErrors: true,
    strict: true,
    allowUnionTypes: true,
    removeAdditional: true,
  });
  const validators = lazyValidators(ajv, schemas);
  const latest = new Map<string, number>();
  for (const key of Object.keys(schemas)) {
    const [type, v] = key.split('@v');
    latest.set(type!, Math.max(latest.get(type!) ?? 0, Number(v)));
  }
  const upcasters = new Map<string, Upcaster>();
  for (const u of opts.upcasters ?? []) upcasters.set(`${u.type}@v${u.fromVersion}`, u);

  const read = (value: unknown): DecodeResult => {
    let current = value;
    for (;;) {
      const { type, version } = (current ?? {}) as { type?: unknown; version?: unknown };
      const newest = typeof type === 'string' ? latest.get(type) : undefined;
      if (newest !== undefined && typeof version === 'number' && version > newest) {
        return {
          ok: false,
          newer: true,
          error: `/version: ${type as string} v${version} is newer than this node reads (up to v${newest}); upgrade this node`,
        };
      }
      const found = validatorFor(current, validators);
      if (!found.ok) return found;
      const checked = run(found.validate, current);
      if (!checked.ok || newest === undefined || checked.event.version >= newest) return checked;
      const event = checked.event as unknown as Record<string, unknown> & {
        id: string;
        time: string;
        fileId: string;
        version: number;
        data: Record<string, unknown>;
      };
      const upcaster = upcasters.get(`${type as string}@v${event.version}`);
      if (!upcaster) {
        return {
          ok: false,
          error: `/version: no upcaster from ${type as string} v${event.version} to v${event.version + 1}`,
        };
      }
      current = { ...event, version: event.version + 1, data: upcaster.up(event.data, event) };
    }
  };
  return {
    read,
    decode: (bytes) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(new TextDecoder().decode(bytes));
      } catch (err) {
        return { ok: false, error: `payload is not JSON: ${(err as Error).message}` };
      }
      return read(parsed);
    },
  };
}

const defaultReader = createEventReader({ upcasters: eventUpcasters });

/** Parses bytes from the bus into a validated, latest-version event, never throwing. */
export function decodeEvent(bytes: Uint8Array): DecodeResult {
  return defaultReader.decode(bytes);
}

/** Reads an already-parsed value the way {@link decodeEvent} reads bytes. */
export function readEvent(value: unknown): DecodeResult {
  return defaultReader.read(value);
}

function validatorFor(
  value: unknown,
  validators: Validators,
): { ok: true; validate: ValidateFunction } | { ok: false; error: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: 'event must be a JSON object' };
  }
  const { type, version } = value as { type?: unknown; version?: unknown };
  if (!isEventType(type)) {
    return { ok: false, error: `/type: unknown event type ${JSON.stringify(type)}` };
  }
  const validate = validators.get(`${type}@v${String(version)}`);
  if (!validate) {
    return {
      ok: false,
      error: `/version: ${type} has no schema for version ${JSON.stringify(version)}`,
    };
  }
  return { ok: true, validate };
}

function run(validate: ValidateFunction, value: unknown): ValidationResult {
  if (!validate(value)) {
    const { type, version } = value as { type: string; version: unknown };
    return { ok: false, error: `${type} v${String(version)}: ${describeErrors(validate.errors)}` };
  }
  return { ok: true, event: value as EventEnvelope };
}

/** Turns ajv errors into "path: what was expected" lines a person can act on. */
function describeErrors(errors: ErrorObject[] | null | undefined): string {
  if (!errors?.length) return 'invalid';
  return errors
    .map((e) => {
      const at = e.instancePath || '/';
      if (e.keyword === 'additionalProperties') {
        return `${at}: unexpected key "${String(e.params.additionalProperty)}"`;
      }
      if (e.keyword === 'required') {
        return `${at}: missing key "${String(e.params.missingProperty)}"`;
      }
      return `${at}: ${e.message ?? 'invalid'}`;
    })
    .join('; ');
}
