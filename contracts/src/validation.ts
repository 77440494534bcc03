import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { EventEnvelope } from './envelope.js';
import { isEventType } from './event-types.js';
import { eventSchemas } from './schemas.js';
import { ContractViolationError } from './errors.js';

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validators = new Map<string, ValidateFunction>();
for (const [key, schema] of Object.entries(eventSchemas)) {
  validators.set(key, ajv.compile(schema));
}

export type ValidationResult = { ok: true; event: EventEnvelope } | { ok: false; error: string };

/** Checks an unknown value against the schema its own `type` and `version` name. */
export function validateEvent(value: unknown): ValidationResult {
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
  if (!validate(value)) {
    return { ok: false, error: `${type} v${String(version)}: ${describeErrors(validate.errors)}` };
  }
  return { ok: true, event: value as EventEnvelope };
}

/** Like {@link validateEvent} but throws a {@link ContractViolationError}. */
export function assertValidEvent(value: unknown): EventEnvelope {
  const result = validateEvent(value);
  if (!result.ok) throw new ContractViolationError(result.error);
  return result.event;
}

/** Parses bytes from the bus into a validated event, never throwing. */
export function decodeEvent(bytes: Uint8Array): ValidationResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    return { ok: false, error: `payload is not JSON: ${(err as Error).message}` };
  }
  return validateEvent(parsed);
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
