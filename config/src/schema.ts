import { QualityFileSchema } from './quality-schema.js';

// Where quality.yaml's JSON Schema and the shipped files are, and the schema itself (defined in
// quality-schema.ts; quality.schema.json is generated from it for editors).

/** Absolute path of the published JSON Schema (the one `$schema` in quality.yaml points to). */
export const QUALITY_SCHEMA_PATH = new URL('../../quality.schema.json', import.meta.url).pathname;
/** Absolute path of the shipped config/quality.yaml. */
export const DEFAULT_QUALITY_CONFIG_PATH = new URL('../../quality.yaml', import.meta.url).pathname;
/** Absolute path of config/examples/. */
export const QUALITY_EXAMPLES_DIR = new URL('../../examples/', import.meta.url).pathname;

/** The JSON Schema of quality.yaml. */
export const qualitySchema: Record<string, unknown> = QualityFileSchema;

/**
 * Whether two JSON Schemas say the same: equal but for the order of keywords and of `required`
 * (quality.schema.json is compared with the code's schema this way).
 */
export function sameSchema(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v === null || typeof v !== 'object') return v;
  const node = v as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(node)
      .sort()
      .map((k) => [
        k,
        k === 'required' && Array.isArray(node[k])
          ? [...(node[k] as string[])].sort()
          : k === 'properties'
            ? // Property order is what the generated guide lists: it counts.
              Object.entries(node[k] as Record<string, unknown>).map(([p, s]) => [p, canonical(s)])
            : canonical(node[k]),
      ]),
  );
}
