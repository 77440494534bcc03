import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { libraryFilter } from '../src/filters.js';

describe('library filter', () => {
  it('takes every video by default and names why anything else is not one', () => {
    const reject = libraryFilter();
    assert.equal(reject('Movies/Film (2020)/Film.MKV'), null);
    assert.equal(reject('Movies/notes.txt'), 'not a video extension');
    assert.equal(reject('Movies/Film.mkv.part'), 'a partial download or temporary file');
  });

  it('uses the configured extension list, with or without dots, in any case', () => {
    const reject = libraryFilter({ extensions: ['MKV', '.iso'] });
    assert.equal(reject('a.mkv'), null);
    assert.equal(reject('b.iso'), null);
    assert.equal(reject('c.mp4'), 'not a video extension');
  });

  it('keeps only included paths and drops excluded ones', () => {
    const reject = libraryFilter({
      include: ['Movies/**', 'Shows/**'],
      exclude: ['**/Extras/**', '**/*sample*'],
    });
    assert.equal(reject('Movies/Film/Film.mkv'), null);
    assert.equal(reject('Shows/S01/E01.mkv'), null);
    assert.equal(reject('Downloads/x.mkv'), 'not matched by the library include globs');
    assert.equal(reject('Movies/Film/Extras/Trailer.mkv'), 'matched by a library exclude glob');
    assert.equal(reject('Movies/Film/film-sample.mkv'), 'matched by a library exclude glob');
  });

  it('takes brackets in folder names literally, as Plex-style names need', () => {
    const reject = libraryFilter({ include: ['Movies/Film (2020)/**'] });
    assert.equal(reject('Movies/Film (2020)/Film.mkv'), null);
    assert.equal(reject('Movies/Film 2020/Film.mkv'), 'not matched by the library include globs');
  });
});
