import { readFileSync } from 'node:fs';

// Where quality.yaml's JSON Schema and the shipped files are, and the schema itself: the one
// definition of every key, its type, default and description (the generated config guide and
// the editors' `$schema` read it too).

/** Absolute path of the published JSON Schema (the one `$schema` in quality.yaml points to). */
export const QUALITY_SCHEMA_PATH = new URL('../../quality.schema.json', import.meta.url).pathname;
/** Absolute path of the shipped config/quality.yaml. */
export const DEFAULT_QUALITY_CONFIG_PATH = new URL('../../quality.yaml', import.meta.url).pathname;
/** Absolute path of config/examples/. */
export const QUALITY_EXAMPLES_DIR = new URL('../../examples/', import.meta.url).pathname;

/** The JSON Schema of quality.yaml. */
export const qualitySchema = JSON.parse(readFileSync(QUALITY_SCHEMA_PATH, 'utf8')) as Record<
  string,
  unknown
>;
