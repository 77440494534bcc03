import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseQualityConfig } from '../src/index.js';

describe('library queue order and priority', () => {
  it('resolves order and priority, defaulting to as discovered at priority 0', () => {
    const config = parseQualityConfig(
      `version: 1
libraries:
  - root: /media/movies
    archive: /archive/movies
    order: biggest-saving
    priority: 10
  - root: /media/tv
    archive: /archive/tv
`,
      'quality.yaml',
    );
    assert.deepEqual(
      config.libraries.map((l) => [l.order, l.priority]),
      [
        ['biggest-saving', 10],
        [null, 0],
      ],
    );
  });

  it('an unknown order names the line and the choices', () => {
    assert.throws(
      () =>
        parseQualityConfig(
          'version: 1\nlibraries:\n  - root: /m\n    archive: /a\n    order: alphabetical\n',
          'quality.yaml',
        ),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.line === 5 &&
        /^quality\.yaml:5: libraries\[0\]\.order: expected one of "smallest", "largest", "oldest", "newest", "biggest-saving", got "alphabetical"$/.test(
          err.message,
        ),
    );
  });
});
