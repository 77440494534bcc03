import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import type { Static } from '@sinclair/typebox';
import type { PolicySchema } from '../src/index.js';
import {
  QUALITY_SCHEMA_PATH,
  qualitySchema,
  sameSchema,
  type QualityPolicy,
} from '../src/index.js';

// The schema is defined once, in src/quality-schema.ts. quality.schema.json is generated from it
// for editors (npm run docs), and the normalised QualityPolicy type must name the same keys.

/** Every key path of an object type: `video`, `video.codec`, … (not into lists or values). */
type Paths<T> = T extends readonly unknown[]
  ? never
  : T extends object
    ? { [K in keyof T & string]-?: K | `${K}.${Paths<NonNullable<T[K]>>}` }[keyof T & string]
    : never;
type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Expect<T extends true> = T;
// Compile time: the normalised policy has exactly the keys the policy schema defines.
export type PolicyKeysAreTheSchemas = Expect<
  Equal<Paths<QualityPolicy>, Paths<Static<typeof PolicySchema>>>
>;

describe('quality.schema.json', () => {
  it('is the schema of src/quality-schema.ts (regenerate with npm run docs)', async () => {
    const published: unknown = JSON.parse(await readFile(QUALITY_SCHEMA_PATH, 'utf8'));
    assert.ok(
      sameSchema(published, JSON.parse(JSON.stringify(qualitySchema))),
      'config/quality.schema.json differs from src/quality-schema.ts: run npm run docs',
    );
  });

  it('tells a changed schema from a reordered one', () => {
    const a = { type: 'object', required: ['x', 'y'], properties: { x: {}, y: {} } };
    assert.ok(
      sameSchema(a, { properties: { x: {}, y: {} }, required: ['y', 'x'], type: 'object' }),
    );
    assert.ok(!sameSchema(a, { ...a, required: ['x'] }));
    assert.ok(!sameSchema(a, { ...a, properties: { y: {}, x: {} } }), 'property order is kept');
  });
});
