import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sampleEvent } from '@conform/contracts';
import {
  PathMap,
  PathMapError,
  canonicalContext,
  localView,
  type HandlerContext,
} from '../src/index.js';

describe('PathMap', () => {
  const map = PathMap.parse(['/media=/mnt/nas/media', '/media/tv=/srv/tv/', '/work=/scratch']);

  it('maps canonical paths to this node by the longest whole-segment prefix, and back', () => {
    assert.equal(map.toLocal('/media/movies/a.mkv'), '/mnt/nas/media/movies/a.mkv');
    assert.equal(map.toLocal('/media/tv/s01/e1.mkv'), '/srv/tv/s01/e1.mkv');
    assert.equal(map.toLocal('/media'), '/mnt/nas/media');
    assert.equal(map.toLocal('/media2/a.mkv'), '/media2/a.mkv', 'not a segment of /media');
    assert.equal(map.toLocal('/other/a.mkv'), '/other/a.mkv');
    assert.equal(map.toCanonical('/srv/tv/s01/e1.mkv'), '/media/tv/s01/e1.mkv');
    assert.equal(map.toCanonical('/mnt/nas/media/movies/a.mkv'), '/media/movies/a.mkv');
    assert.equal(map.toCanonical('/scratch/x'), '/work/x');
    assert.equal(map.describe('/media/tv/x'), '/media/tv=/srv/tv');
    assert.equal(new PathMap().toLocal('/media/a'), '/media/a');
  });

  it('refuses entries that are not FROM=TO with absolute paths, naming the entry', () => {
    assert.throws(
      () => PathMap.parse(['/media']),
      (e: Error) => e instanceof PathMapError && /"\/media": no "="/.test(e.message),
    );
    assert.throws(() => PathMap.parse(['media=/mnt']), /FROM "media" is not absolute/);
    assert.throws(() => PathMap.parse(['/media=mnt']), /TO "mnt" is not absolute/);
    assert.throws(() => PathMap.parse(['/m=/a', '/m/=/b']), /\/m\/ is mapped twice/);
    assert.equal(PathMap.parse(['', ' ']).empty, true);
  });

  it('shows a handler local paths and publishes what it emits in canonical paths', async () => {
    const m = PathMap.parse(['/media/movies=/mnt/movies']);
    const planned = sampleEvent('file.planned'); // library /media/movies
    const local = localView(planned, m);
    assert.equal(local.data.library, '/mnt/movies');
    assert.equal(local.data.path, '/mnt/movies/Film (2020)/Film.mp4');
    assert.equal(planned.data.library, '/media/movies', 'the original is not modified');
    const emitted: unknown[] = [];
    const hctx = { emit: async (e: unknown) => (emitted.push(e), e) } as unknown as HandlerContext;
    await canonicalContext(hctx, m).emit({
      type: 'encode.started',
      data: {
        library: '/mnt/movies',
        path: '/mnt/movies/Film (2020)/Film.mp4',
        outputPath: '/mnt/movies/.conform-work/f.mp4',
        encoder: 'libx265',
        attempt: 1,
      },
    });
    assert.deepEqual(emitted, [
      {
        type: 'encode.started',
        data: {
          library: '/media/movies',
          path: '/media/movies/Film (2020)/Film.mp4',
          outputPath: '/media/movies/.conform-work/f.mp4',
          encoder: 'libx265',
          attempt: 1,
        },
      },
    ]);
  });
});
