import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DeciderSpecification,
  fileIdFor,
  wrap,
  type DomainEventOf,
  type EventType,
  type FileFingerprint,
} from '@conform/contracts';
import {
  catalogueDecider,
  decideCatalogue,
  emptyCatalogue,
  type CatalogueDecision,
  type CatalogueEvent,
  type CatalogueInput,
  type IdentityEvent,
} from '../src/decide.js';

const WINDOW = 1_000;
const library = '/lib';
const fp = (over: Partial<FileFingerprint> = {}): FileFingerprint => ({
  dev: 1,
  ino: 10,
  size: 100,
  mtimeMs: 5,
  headTailSha256: 'a'.repeat(64),
  ...over,
});
const stable = (relativePath: string, fingerprint = fp()): CatalogueInput => ({
  kind: 'stable',
  library,
  path: `${library}/${relativePath}`,
  relativePath,
  fingerprint,
});

const given = DeciderSpecification(catalogueDecider(WINDOW));

let sequence = 0;
/** What the log holds once it accepted this decision (the watcher's own, or another service's). */
const logged = (d: IdentityEvent | DomainEventOf<EventType>, fileId?: string): CatalogueEvent => {
  const { fileId: id, ...event } = { fileId, ...d } as IdentityEvent;
  const envelope = wrap(event as Omit<IdentityEvent, 'fileId'> as never, {
    fileId: id,
    producer: 'watcher@test',
    time: new Date(0),
  });
  return { kind: 'logged', sequence: ++sequence, event: envelope };
};
/** The file at this path, discovered and accepted by the log. */
const discovered = (relativePath: string, fingerprint = fp()): CatalogueEvent => {
  const [decision] = decideCatalogue(stable(relativePath, fingerprint), emptyCatalogue(), WINDOW);
  return logged(decision as IdentityEvent);
};
const wentMissing = (relativePath: string, since = 0): CatalogueDecision => ({
  kind: 'went-missing',
  fileId: fileIdFor(library, relativePath),
  since,
});

describe('catalogue: an unknown path', () => {
  it('is discovered with an id derived from its path', () =>
    given()
      .when(stable('a.mkv'))
      .then((d) => {
        assert.equal(d.length, 1);
        assert.equal((d[0] as IdentityEvent).type, 'file.discovered');
        assert.equal((d[0] as IdentityEvent).fileId, fileIdFor(library, 'a.mkv'));
      }));

  it('matching a known file that went missing is that file moved, keeping its id', () =>
    given(discovered('old.mkv'), wentMissing('old.mkv'))
      .when(stable('new/place.mkv', fp({ ino: 99 })))
      .then((d) => {
        assert.deepEqual(
          d.map((e) => ('type' in e ? [e.type, e.fileId] : e.kind)),
          [['file.moved', fileIdFor(library, 'old.mkv')]],
        );
        assert.equal(
          (d[0] as IdentityEvent & { data: { fromPath: string } }).data.fromPath,
          '/lib/old.mkv',
        );
      }));

  it('with the same size and mtime but other content is a new file, not a move', () =>
    given(discovered('old.mkv'), wentMissing('old.mkv'))
      .when(stable('other.mkv', fp({ headTailSha256: 'b'.repeat(64) })))
      .then((d) => assert.equal((d[0] as IdentityEvent).type, 'file.discovered')));

  it('matching a known file that is still present is a copy: a new file', () =>
    given(discovered('old.mkv'))
      .when(stable('copy.mkv'))
      .then((d) => assert.equal((d[0] as IdentityEvent).type, 'file.discovered')));
});

describe('catalogue: a known path', () => {
  it('with the same stamp publishes nothing (restart, rescan)', () =>
    given(discovered('a.mkv'))
      .when(stable('a.mkv'))
      .then((d) => assert.deepEqual(d, [])));

  it('with another size or mtime is file.changed of the same file', () =>
    given(discovered('a.mkv'))
      .when(stable('a.mkv', fp({ size: 50 })))
      .then((d) => {
        assert.equal((d[0] as IdentityEvent).type, 'file.changed');
        assert.equal((d[0] as IdentityEvent).fileId, fileIdFor(library, 'a.mkv'));
      }));

  it('seen missing and back unchanged only clears the mark', () =>
    given(discovered('a.mkv'), wentMissing('a.mkv'))
      .when(stable('a.mkv'))
      .then((d) =>
        assert.deepEqual(d, [{ kind: 'came-back', fileId: fileIdFor(library, 'a.mkv') }]),
      ));
});

describe('catalogue: a stat before any stability wait (seen)', () => {
  const seen = (size: number, mtimeMs: number): CatalogueInput => ({
    kind: 'seen',
    path: '/lib/a.mkv',
    size,
    mtimeMs,
  });
  it('of a known file seen missing, with its stamp, clears the missing mark', () =>
    given(discovered('a.mkv'), wentMissing('a.mkv'))
      .when(seen(100, 5))
      .then((d) =>
        assert.deepEqual(d, [{ kind: 'came-back', fileId: fileIdFor(library, 'a.mkv') }]),
      ));
  it('of a known file not missing is nothing new', () =>
    given(discovered('a.mkv'))
      .when(seen(100, 5))
      .then((d) => assert.deepEqual(d, [])));
  it('with another stamp decides nothing yet: the stability wait comes first', () =>
    given(discovered('a.mkv'), wentMissing('a.mkv'))
      .when(seen(101, 5))
      .then((d) => assert.deepEqual(d, [])));
});

describe('catalogue: a known file gone missing', () => {
  const history = [discovered('a.mkv'), wentMissing('a.mkv')];

  it('is not removed before the window has passed', () =>
    given(...history)
      .when({ kind: 'tick', now: WINDOW - 1 })
      .then((d) => assert.deepEqual(d, [])));

  it('is removed once the window has passed', () =>
    given(...history)
      .when({ kind: 'tick', now: WINDOW })
      .then((d) => {
        assert.equal((d[0] as IdentityEvent).type, 'file.removed');
        assert.equal((d[0] as IdentityEvent).data.path, '/lib/a.mkv');
      }));

  it('names the path relative to the library in the removal, also in a subfolder', () =>
    given(discovered('Show/S01/e1.mkv'), wentMissing('Show/S01/e1.mkv'))
      .when({ kind: 'tick', now: WINDOW })
      .then((d) =>
        assert.deepEqual((d[0] as IdentityEvent).data, {
          library,
          path: '/lib/Show/S01/e1.mkv',
          relativePath: 'Show/S01/e1.mkv',
        }),
      ));
});

describe('catalogue: the archiver swapped the content', () => {
  const id = fileIdFor(library, 'a.avi');
  // Called after the discovery, so the swap has the later sequence, as in the log.
  const replaced = () =>
    logged(
      {
        type: 'file.replaced',
        data: {
          library,
          path: '/lib/a.avi',
          newPath: '/lib/a.mkv',
          archivePath: '/arch/a.avi',
          originalSize: 100,
          newSize: 40,
          bytesSaved: 60,
        },
      },
      id,
    );
  it('the next sighting at the new path is a change of the same file', () =>
    given(discovered('a.avi'), replaced())
      .when(stable('a.mkv', fp({ size: 40, ino: 11 })))
      .then((d) => {
        assert.equal((d[0] as IdentityEvent).type, 'file.changed');
        assert.equal((d[0] as IdentityEvent).fileId, id);
      }));
  it('the old path missing is no news: the file lives at the new path', () =>
    given(discovered('a.avi'), replaced())
      .when({ kind: 'missing', path: '/lib/a.avi', now: 0 })
      .thenNothingHappened());
});

describe('catalogue: an announcement not yet accepted by the log', () => {
  it('changes nothing: the same sighting is decided again until the log has it', () =>
    given(decideCatalogue(stable('a.mkv'), emptyCatalogue(), WINDOW)[0]!)
      .when(stable('a.mkv'))
      .then((d) => assert.equal((d[0] as IdentityEvent).type, 'file.discovered')));
});
