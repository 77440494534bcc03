import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeciderSpecification } from '@conform/contracts';
import {
  isHiddenBelow,
  rejectFileName,
  stabilityDecider,
  type StabilityEvent,
  type StabilityInput,
} from '../src/index.js';

const WINDOW = 1_000;
const decider = stabilityDecider(WINDOW);
const path = '/lib/Film.mkv';

const given = DeciderSpecification(decider);

const observed = (size: number, mtimeMs: number, now: number): StabilityInput => ({
  kind: 'observed',
  path,
  size,
  mtimeMs,
  now,
});
const settling = (size: number, mtimeMs: number, since: number): StabilityEvent => ({
  kind: 'settling',
  path,
  size,
  mtimeMs,
  since,
});
const stable = (size: number, mtimeMs: number): StabilityEvent => ({
  kind: 'stable',
  path,
  size,
  mtimeMs,
});

describe('stability decider', () => {
  describe('an unknown path', () => {
    it('starts settling when first observed with a fresh mtime', () =>
      given()
        .when(observed(10, 50, 100))
        .then([settling(10, 50, 100)]));
    it('ignores a vanish', () => given().when({ kind: 'vanished', path }).thenNothingHappened());
  });

  describe('a settling path', () => {
    const history = [settling(10, 100, 100)];
    it('stays quiet while the window has not passed', () =>
      given(...history)
        .when(observed(10, 100, 100 + WINDOW - 1))
        .thenNothingHappened());
    it('is stable once unchanged for the whole window', () =>
      given(...history)
        .when(observed(10, 100, 100 + WINDOW))
        .then([stable(10, 100)]));
    it('restarts the window when the size grows', () =>
      given(...history)
        .when(observed(20, 890, 900))
        .then([settling(20, 890, 900)]));
    it('restarts the window when only the mtime changes', () =>
      given(...history)
        .when(observed(10, 890, 900))
        .then([settling(10, 890, 900)]));
    it('is forgotten when it vanishes', () =>
      given(...history)
        .when({ kind: 'vanished', path })
        .then([{ kind: 'forgotten', path }]));
    it('measures the window from the last change, not the first sighting', () =>
      given(settling(10, 100, 100), settling(20, 890, 900))
        .when(observed(20, 890, 100 + WINDOW))
        .thenNothingHappened());
  });

  describe('a stable path', () => {
    const history = [settling(10, 100, 100), stable(10, 100)];
    it('is not announced again while unchanged', () =>
      given(...history)
        .when(observed(10, 100, 100 + 10 * WINDOW))
        .thenNothingHappened());
    it('settles again when it changes (e.g. the archiver swapped in the output)', () =>
      given(...history)
        .when(observed(7, 4_990, 5_000))
        .then([settling(7, 4_990, 5_000)]));
    it('is stable again after the change has been quiet for a window', () =>
      given(...history, settling(7, 4_990, 5_000))
        .when(observed(7, 4_990, 5_000 + WINDOW))
        .then([stable(7, 4_990)]));
    it('is stable again at once when the new content carries an old mtime (a swap keeping the mtime)', () =>
      given(...history)
        .when(observed(7, 100, 5_000))
        .then([stable(7, 100)]));
    it('is forgotten when it vanishes', () =>
      given(...history)
        .when({ kind: 'vanished', path })
        .then([{ kind: 'forgotten', path }]));
  });

  describe('a forgotten path', () => {
    it('starts over when it reappears', () =>
      given(settling(10, 100, 100), stable(10, 100), { kind: 'forgotten', path })
        .when(observed(10, 8_999, 9_000))
        .then([settling(10, 8_999, 9_000)]));
  });

  describe('the mtime as evidence (a file last written before the window is quiet already)', () => {
    const now = 50_000;
    it('an unknown path modified more than a window ago is stable on first sight', () =>
      given()
        .when(observed(10, now - 3_600_000, now))
        .then([stable(10, now - 3_600_000)]));
    it('an unknown path modified exactly a window ago is stable on first sight', () =>
      given()
        .when(observed(10, now - WINDOW, now))
        .then([stable(10, now - WINDOW)]));
    it('an unknown path modified within the window (a copy in progress) waits the window', () =>
      given()
        .when(observed(10, now - WINDOW + 1, now))
        .then([settling(10, now - WINDOW + 1, now)]));
    it('an mtime in the future (a skewed clock) is no evidence: it waits the window', () =>
      given()
        .when(observed(10, now + 60_000, now))
        .then([settling(10, now + 60_000, now)]));
    it('a settling copy that ends by restoring the old mtime (cp -p) is stable at once', () =>
      given(settling(5, now - 200, now - 200))
        .when(observed(10, now - 3_600_000, now))
        .then([stable(10, now - 3_600_000)]));
    it('a settling file is stable once its unchanged mtime has aged past the window', () =>
      given(settling(10, now - 500, now - 100))
        .when(observed(10, now - 500, now + WINDOW - 500))
        .then([stable(10, now - 500)]));
  });
});

describe('file filters', () => {
  it('accepts video extensions in any case', () => {
    for (const name of ['a.mkv', 'b.MP4', 'c.M2TS', 'd.webm', 'e.Mpeg', '-x.ts']) {
      assert.equal(rejectFileName(name), null, name);
    }
  });
  it('rejects partial downloads and temporary names', () => {
    for (const name of [
      'a.mkv.part',
      'a.mkv.partial',
      'a.mkv.!qB',
      'a.mp4.tmp',
      'a.mkv.crdownload',
    ]) {
      assert.equal(rejectFileName(name), 'a partial download or temporary file', name);
    }
  });
  it('rejects other extensions and names without one', () => {
    for (const name of ['a.srt', 'a.nfo', 'a.jpg', 'mkv', 'README']) {
      assert.equal(rejectFileName(name), 'not a video extension', name);
    }
  });
  it('hides dot segments below the root but not in the root itself', () => {
    assert.equal(isHiddenBelow('/home/u/.media', '/home/u/.media/Film.mkv'), false);
    assert.equal(isHiddenBelow('/lib', '/lib/.conform-work/f1.mkv'), true);
    assert.equal(isHiddenBelow('/lib', '/lib/Show/.hidden.mkv'), true);
    assert.equal(isHiddenBelow('/lib', '/lib/Show/S01/e1.mkv'), false);
  });
});
