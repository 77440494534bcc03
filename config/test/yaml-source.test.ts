import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseYaml } from '../src/index.js';

const text = `# policy
defaults:
  video:
    codec: hevc
libraries:
  - root: /media/movies
    archive: /media/archive
  - root: /media/shows
`;

describe('parseYaml', () => {
  it('parses values and finds the line of any key by JSON pointer', () => {
    const src = parseYaml(text, 'quality.yaml');
    assert.deepEqual((src.value as { defaults: unknown }).defaults, { video: { codec: 'hevc' } });
    assert.equal(src.lineOf('/defaults/video/codec'), 4);
    assert.equal(src.lineOf('/libraries/1/root'), 8);
    assert.equal(src.lineOf('/libraries/0/archive'), 7);
  });

  it('falls back to the nearest parent for a key that is not there', () => {
    const src = parseYaml(text, 'quality.yaml');
    assert.equal(src.lineOf('/defaults/video/missing'), 4);
  });

  it('names the file and line of a syntax error', () => {
    assert.throws(
      () => parseYaml('a: 1\nb: [unclosed\n', 'bad.yaml'),
      (err: Error & { line?: number }) =>
        /^bad\.yaml:\d+: /.test(err.message) && err.name === 'ConfigError',
    );
  });
});
