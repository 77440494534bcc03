import type { ErrorObject } from 'ajv';
import { ConfigError } from './errors.js';
import type { YamlSource } from './yaml-source.js';

// Every stage's errors in one form: `file:line: key.path: what was expected, got what`. The line
// comes from the parsed YAML source, the key from the JSON pointer of the value at fault.

/** An error about the value at `pointer`, with its file, line and key. */
export function invalidAt(src: YamlSource, pointer: string, message: string): ConfigError {
  const line = src.lineOf(pointer);
  return new ConfigError(
    'CONFIG_INVALID',
    `${src.file}${line ? `:${line}` : ''}: ${keyOf(pointer)}: ${message}`,
    { file: src.file, line },
  );
}

/** The schema's errors (normalise stage) as one ConfigError, sorted by line. */
export function configInvalid(src: YamlSource, errors: ErrorObject[]): ConfigError {
  const problems = relevantErrors(errors)
    .map((e) => describe(src, e))
    .sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  const first = problems[0]!;
  const message =
    problems.length === 1
      ? first.text
      : `${problems.length} problems:\n  ${problems.map((p) => p.text).join('\n  ')}`;
  return new ConfigError('CONFIG_INVALID', message, { file: src.file, line: first.line });
}

// An `if` failure, or a key-name pattern failure, repeats what a more specific error already said.
function relevantErrors(errors: ErrorObject[]): ErrorObject[] {
  const useful = errors.filter(
    (e) => e.keyword !== 'if' && (e as { propertyName?: string }).propertyName === undefined,
  );
  return useful.length ? useful : errors;
}

function describe(src: YamlSource, e: ErrorObject): { text: string; line: number | null } {
  let pointer = e.instancePath;
  let what: string;
  switch (e.keyword) {
    case 'additionalProperties':
      pointer = `${pointer}/${String(e.params.additionalProperty)}`;
      what = `unknown key; expected one of ${allowedKeys(e)}`;
      break;
    case 'required':
      pointer = `${pointer}/${String(e.params.missingProperty)}`;
      what = `missing; expected ${describedKey(e, String(e.params.missingProperty))}`;
      break;
    case 'enum':
      what = `expected one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(valueAt(src.value, pointer))}`;
      break;
    case 'const':
      what = `expected ${JSON.stringify(e.params.allowedValue)}, got ${JSON.stringify(valueAt(src.value, pointer))}`;
      break;
    case 'propertyNames':
      pointer = `${pointer}/${String(e.params.propertyName)}`;
      what = 'expected a height in pixels such as "1080"';
      break;
    default:
      what = `${e.message ?? 'invalid'}, got ${JSON.stringify(valueAt(src.value, pointer))}`;
  }
  const line = src.lineOf(pointer);
  return { text: `${src.file}${line ? `:${line}` : ''}: ${keyOf(pointer)}: ${what}`, line };
}

function describedKey(e: ErrorObject, key: string): string {
  const props = (e.parentSchema as { properties?: Record<string, { description?: string }> })
    ?.properties;
  return props?.[key]?.description ?? `the key "${key}"`;
}

function allowedKeys(e: ErrorObject): string {
  const props = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)
    ?.properties;
  return props ? Object.keys(props).join(', ') : 'no other keys';
}

/** `/libraries/0/policy/video/codec` → `libraries[0].policy.video.codec`. */
function keyOf(pointer: string): string {
  if (!pointer) return '(top level)';
  return pointer
    .split('/')
    .slice(1)
    .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, k) => (/^\d+$/.test(k) ? `${acc}[${k}]` : acc ? `${acc}.${k}` : k), '');
}

function valueAt(doc: unknown, pointer: string): unknown {
  let node = doc;
  for (const k of pointer.split('/').slice(1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[k.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}
