import assert from 'node:assert/strict';
import { isAbsolute, relative, sep } from 'node:path';
import { describe, it } from 'node:test';
import { relativeInside } from '../src/paths.js';

/** The general definition, which the fast path must always agree with. */
function reference(root: string, path: string): string | null {
  const rel = relative(root, path);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return null;
  return rel;
}

describe('relativeInside', () => {
  it('agrees with path.relative on plain, hidden, dotted, doubled and escaping paths', () => {
    const roots = ['/', '/lib', '/lib/', '/media/tv', '/a/..', '/a/./b', '/lib/Show'];
    const tails = [
      '',
      '/',
      '/x.mkv',
      '/Show/Season 01/e1.mkv',
      '//x.mkv',
      '/x.mkv/',
      '/./x.mkv',
      '/../x.mkv',
      '/Show/../../x.mkv',
      '/.hidden/x.mkv',
      '/Show/.conform-work/f1.mkv',
      '/a..b/x',
      '/...',
      'x/y',
      '-other/x',
    ];
    let compared = 0;
    for (const root of roots) {
      for (const tail of tails) {
        const path = root + tail;
        assert.equal(relativeInside(root, path), reference(root, path), `${root} | ${path}`);
        compared++;
      }
    }
    assert.equal(compared, roots.length * tails.length);
    assert.equal(relativeInside('/lib', '/lib/Show/e1.mkv'), 'Show/e1.mkv');
    assert.equal(relativeInside('/lib', '/library/e1.mkv'), null);
    assert.equal(relativeInside('/lib', '/lib'), null);
  });
});
