#!/usr/bin/env node
// Regenerates what is made from the schema in src/quality-schema.ts (`npm run docs`, after the
// build): config/quality.schema.json, for editors (only when it says something else than the
// code: key order and layout of an unchanged schema are left alone), and the key-by-key part and
// the examples of docs/user/02_configuration.md. Prettier formats both as the pre-commit hook
// would. config/test/schema.test.ts and config-doc.test.ts fail while either is stale.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as prettier from 'prettier';
import { withConfigReference } from '../dist/src/config-doc.js';
import { qualitySchema, sameSchema } from '../dist/src/index.js';

const here = import.meta.dirname;
const schemaPath = resolve(here, '../quality.schema.json');
const schema = JSON.parse(JSON.stringify(qualitySchema));
if (!sameSchema(JSON.parse(readFileSync(schemaPath, 'utf8')), schema)) {
  const text = await prettier.format(JSON.stringify(schema), {
    ...((await prettier.resolveConfig(schemaPath)) ?? {}),
    filepath: schemaPath,
  });
  writeFileSync(schemaPath, text);
  console.log(`${schemaPath}: regenerated`);
} else {
  console.log(`${schemaPath}: up to date`);
}
const guidePath = resolve(here, '../../docs/user/02_configuration.md');
const examplesDir = resolve(here, '../examples');
const examples = Object.fromEntries(
  readdirSync(examplesDir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => [f, readFileSync(join(examplesDir, f), 'utf8')]),
);
const before = readFileSync(guidePath, 'utf8');
const options = (await prettier.resolveConfig(guidePath)) ?? {};
const after = await prettier.format(withConfigReference(before, schema, examples), {
  ...options,
  filepath: guidePath,
});
if (after !== before) writeFileSync(guidePath, after);
console.log(`${guidePath}: ${after === before ? 'up to date' : 'regenerated'}`);
