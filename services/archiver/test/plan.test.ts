import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  finalPathFor,
  planSwap,
  resolveSwapPaths,
  type FileFacts,
  type SwapObservation,
  type SwapPaths,
  type SwapPlan,
} from '../src/index.js';

const source = { size: 1000, mtimeMs: 5000 };
const paths = (finalPath = '/lib/Show/Film.mkv'): SwapPaths => ({
  library: '/lib',
  archiveRoot: '/archive',
  workDir: '/lib/.conform-work',
  path: '/lib/Show/Film.mkv',
  relativePath: 'Show/Film.mkv',
  outputPath: '/lib/.conform-work/f1.mkv',
  archivePath: '/archive/Show/Film.mkv',
  finalPath,
});
const file = (size: number, mtimeMs: number, ino: number): FileFacts => ({
  kind: 'file',
  size,
  mtimeMs,
  dev: 1,
  ino,
});
const missing: FileFacts = { kind: 'missing' };
const original = file(1000, 5000, 10);
const output = file(400, 9000, 20);

function observe(over: Partial<SwapObservation>): SwapObservation {
  const base: SwapObservation = {
    paths: paths(),
    source,
    original,
    output,
    archived: missing,
    final: original,
    escape: null,
  };
  return { ...base, ...over };
}
const kinds = (plan: SwapPlan) => plan.steps.map((s) => s.kind);

describe('planSwap', () => {
  describe('output waiting to be swapped in', () => {
    it('fresh: archives, then installs', () => {
      const plan = planSwap(observe({}));
      assert.deepEqual(kinds(plan), ['archive-original', 'install-output']);
      assert.deepEqual(plan.outcome, { kind: 'replaced', newSize: 400 });
    });
    it('fresh with an extension change: also removes the original afterwards', () => {
      const plan = planSwap(observe({ paths: paths('/lib/Show/Film.mp4'), final: missing }));
      assert.deepEqual(kinds(plan), ['archive-original', 'install-output', 'remove-original']);
    });
    it('archived by hard link but not swapped: only installs', () => {
      const plan = planSwap(observe({ archived: original }));
      assert.deepEqual(kinds(plan), ['install-output']);
    });
    it('archived by copy: re-runs the archive step, which verifies the content', () => {
      const plan = planSwap(observe({ archived: file(1000, 5000, 99) }));
      assert.deepEqual(kinds(plan), ['archive-original', 'install-output']);
    });
    it('refuses when the archive path holds a different file', () => {
      const plan = planSwap(observe({ archived: file(3, 1, 99) }));
      assert.deepEqual(plan.steps, []);
      assert.equal(plan.outcome.kind, 'failed');
      assert.match(JSON.stringify(plan.outcome), /already holds a different file/);
    });
    it('refuses to overwrite an existing file at a changed final path', () => {
      const plan = planSwap(observe({ paths: paths('/lib/Show/Film.mp4'), final: file(5, 5, 77) }));
      assert.deepEqual(plan.steps, []);
      assert.match(JSON.stringify(plan.outcome), /Film.mp4 already exists/);
    });
  });

  describe('stale source', () => {
    it('a changed size discards the output and reports stale', () => {
      const changed = file(1001, 5000, 10);
      const plan = planSwap(observe({ original: changed, final: changed }));
      assert.deepEqual(kinds(plan), ['discard-output']);
      assert.equal(plan.outcome.kind, 'failed');
      assert.equal(plan.outcome.kind === 'failed' && plan.outcome.stale, true);
    });
    it('a changed mtime alone is stale too', () => {
      const touched = file(1000, 5001, 10);
      assert.deepEqual(kinds(planSwap(observe({ original: touched, final: touched }))), [
        'discard-output',
      ]);
    });
    it('a vanished source discards the output', () => {
      const plan = planSwap(observe({ original: missing, final: missing }));
      assert.deepEqual(kinds(plan), ['discard-output']);
      assert.match(JSON.stringify(plan.outcome), /no longer exists/);
    });
  });

  describe('output gone', () => {
    it('swapped already: nothing to do but report, with the installed size', () => {
      const plan = planSwap(
        observe({ output: missing, archived: original, original: output, final: output }),
      );
      assert.deepEqual(plan.steps, []);
      assert.deepEqual(plan.outcome, { kind: 'replaced', newSize: 400 });
    });
    it('swapped with an extension change but the original not yet removed: removes it', () => {
      const plan = planSwap(
        observe({
          paths: paths('/lib/Show/Film.mp4'),
          output: missing,
          archived: original,
          final: output,
        }),
      );
      assert.deepEqual(kinds(plan), ['remove-original']);
      assert.equal(plan.outcome.kind, 'replaced');
    });
    it('output missing and never swapped: fails without touching anything', () => {
      const plan = planSwap(observe({ output: missing }));
      assert.deepEqual(plan.steps, []);
      assert.deepEqual(plan.outcome, {
        kind: 'failed',
        reason: 'the verified output /lib/.conform-work/f1.mkv is missing; nothing was swapped',
        stale: false,
      });
    });
    it('archived but the output lost before install: the original stays, fails', () => {
      const plan = planSwap(observe({ output: missing, archived: original }));
      assert.deepEqual(plan.steps, []);
      assert.equal(plan.outcome.kind, 'failed');
    });
  });

  describe('never follows links', () => {
    it('refuses a symlink at the path', () => {
      const link: FileFacts = { kind: 'not-a-file', what: 'a symbolic link' };
      const plan = planSwap(observe({ original: link, final: link }));
      assert.deepEqual(plan.steps, []);
      assert.match(JSON.stringify(plan.outcome), /symbolic link/);
    });
    it('refuses when a folder on the way escapes', () => {
      const plan = planSwap(observe({ escape: '/lib/Show leads outside /lib' }));
      assert.deepEqual(plan.steps, []);
      assert.deepEqual(plan.outcome, {
        kind: 'failed',
        reason: '/lib/Show leads outside /lib',
        stale: false,
      });
    });
  });
});

describe('resolveSwapPaths', () => {
  const libraries = [{ root: '/lib', archive: '/archive' }];
  const data = {
    library: '/lib',
    path: '/lib/Show/Film.avi',
    outputPath: '/lib/.conform-work/f1.mkv',
    target: { videoCodec: 'hevc' as const, container: 'mkv' as const },
  };
  it('mirrors the library path into the archive and changes the extension', () => {
    const r = resolveSwapPaths(data, libraries);
    assert.ok(r.ok);
    assert.equal(r.paths.archivePath, '/archive/Show/Film.avi');
    assert.equal(r.paths.finalPath, '/lib/Show/Film.mkv');
  });
  const refusals: [string, Partial<typeof data>, RegExp][] = [
    [
      'an unconfigured library',
      { library: '/other', path: '/other/a.mkv' },
      /not a configured library/,
    ],
    ['a path outside the library', { path: '/etc/passwd' }, /outside library/],
    ['a path climbing out with ..', { path: '/lib/../etc/Film.mkv' }, /outside library/],
    ['a path inside the work directory', { path: '/lib/.conform-work/x.mkv' }, /work directory/],
    ['an output outside the work directory', { outputPath: '/lib/Show/out.mkv' }, /not inside/],
    [
      'an output climbing out of the work directory',
      { outputPath: '/lib/.conform-work/../../x' },
      /not inside/,
    ],
  ];
  for (const [what, over, reason] of refusals) {
    it(`refuses ${what}`, () => {
      const r = resolveSwapPaths({ ...data, ...over }, libraries);
      assert.equal(r.ok, false);
      assert.match(r.ok ? '' : r.reason, reason);
    });
  }
  it('keeps the extension when it already matches, whatever its case', () => {
    assert.equal(finalPathFor('/lib/a.MKV', 'mkv'), '/lib/a.MKV');
    assert.equal(finalPathFor('/lib/a.mp4', 'mkv'), '/lib/a.mkv');
    assert.equal(finalPathFor('/lib/noext', 'mp4'), '/lib/noext.mp4');
  });
});
