import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import * as prettier from 'prettier';
import {
  QUALITY_EXAMPLES_DIR,
  qualitySchema,
  renderConfigReference,
  undocumentedKeys,
  withConfigReference,
} from '../src/index.js';

const guidePath = resolve(import.meta.dirname, '../../../docs/user/02_configuration.md');

async function examples(): Promise<Record<string, string>> {
  const names = (await readdir(QUALITY_EXAMPLES_DIR)).filter((f) => f.endsWith('.yaml'));
  const texts = await Promise.all(
    names.map((f) => readFile(join(QUALITY_EXAMPLES_DIR, f), 'utf8')),
  );
  return Object.fromEntries(names.map((f, i) => [f, texts[i]!]));
}

describe('docs/user/02_configuration.md', () => {
  it('every key of quality.schema.json has a description', () => {
    assert.deepEqual(undocumentedKeys(qualitySchema as never), []);
  });

  it('is what `npm run docs` generates from the schema and the examples (run it after a schema change)', async () => {
    const current = await readFile(guidePath, 'utf8');
    const options = (await prettier.resolveConfig(guidePath)) ?? {};
    const fresh = await prettier.format(
      withConfigReference(current, qualitySchema as never, await examples()),
      {
        ...options,
        filepath: guidePath,
      },
    );
    assert.ok(
      current === fresh,
      'docs/user/02_configuration.md is out of date: run `npm run docs`',
    );
    // And it really documents keys, at every depth, and every example.
    for (const key of [
      'defaults.video.quality.nvencCq',
      'libraries[].watch.polling',
      'integrations.summary.at',
    ]) {
      assert.ok(current.includes(`\`${key}\``), `${key} is not in the guide`);
    }
    for (const name of Object.keys(await examples()))
      assert.ok(current.includes(`config/examples/${name}`), name);
  });

  it('an undocumented key is found and refuses to render, naming the key', () => {
    const schema = {
      type: 'object',
      properties: {
        documented: { type: 'string', description: 'yes' },
        nested: { $ref: '#/definitions/n', description: 'a nested object' },
      },
      definitions: { n: { type: 'object', properties: { bare: { type: 'integer' } } } },
    };
    assert.deepEqual(undocumentedKeys(schema), ['nested.bare']);
    assert.throws(() => renderConfigReference(schema), /keys without a description: nested\.bare/);
  });

  it('refuses a guide without the generated-section markers', () => {
    assert.throws(
      () => withConfigReference('# no markers\n', qualitySchema as never),
      /markers are missing/,
    );
  });
});
