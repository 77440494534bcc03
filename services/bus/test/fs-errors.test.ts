import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelayMs, classifyFsError } from '../src/index.js';

const errno = (code: string, path = '/lib/Film.mkv') =>
  Object.assign(new Error(`${code}: failed, '${path}'`), { code, path });

describe('classifyFsError', () => {
  for (const code of ['ENOSPC', 'EDQUOT', 'EROFS', 'EPERM', 'EACCES', 'ENAMETOOLONG']) {
    it(`${code} is permanent and says what to do`, () => {
      const verdict = classifyFsError(errno(code));
      assert.equal(verdict.permanent, true);
      assert.equal(verdict.code, code);
      assert.match(verdict.reason, new RegExp(`^/lib/Film\\.mkv: .+ \\(${code}\\)$`));
    });
  }
  for (const code of ['EBUSY', 'EIO', 'ESTALE', 'EAGAIN', 'ENOENT']) {
    it(`${code} is transient`, () => {
      assert.deepEqual(classifyFsError(errno(code)), {
        permanent: false,
        code,
        reason: `${code}: failed, '/lib/Film.mkv'`,
      });
    });
  }
  it('names the destination of a rename, and copes with non-errors', () => {
    const e = Object.assign(errno('EXDEV'), { code: 'EROFS', dest: '/archive/Film.mkv' });
    assert.match(classifyFsError(e).reason, /^\/archive\/Film\.mkv: /);
    assert.deepEqual(classifyFsError('boom'), { permanent: false, code: null, reason: 'boom' });
  });
});

describe('backoffDelayMs', () => {
  it('doubles per attempt up to the cap', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 10].map((a) => backoffDelayMs(a, 1_000, 5_000)),
      [1_000, 2_000, 4_000, 5_000, 5_000],
    );
  });
});
