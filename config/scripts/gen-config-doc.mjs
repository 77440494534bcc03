#!/usr/bin/env node
// Regenerates the key-by-key part and the examples of docs/user/02_configuration.md from
// quality.schema.json and config/examples (`npm run docs`, after the build); prettier formats it
// as the pre-commit hook would. config/test/config-doc.test.ts fails when the file is stale.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as prettier from 'prettier';
import { withConfigReference } from '../dist/src/config-doc.js';

const here = import.meta.dirname;
const guidePath = resolve(here, '../../docs/user/02_configuration.md');
const schema = JSON.parse(readFileSync(resolve(here, '../quality.schema.json'), 'utf8'));
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
