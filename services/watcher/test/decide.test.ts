import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileIdFor, wrap, type FileFingerprint } from '@conform/contracts';
import {
  decideCatalogue,
  emptyCatalogue,
  evolveCatalogue,
  type Catalogue,
  type CatalogueDecision,
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

/** given(past decisions, as published in order).when(input).then(decisions). */
function given(...history: (CatalogueDecision | { input: CatalogueInput })[]) {
  let state: Catalogue = emptyCatalogue();
  let seq = 0;
  const apply = (d: CatalogueDecision) => {
    if ('type' in d) {
      const { fileId, ...event } = d;
      const envelope = wrap(event as Omit<IdentityEvent, 'fileId'> as never, {
        fileId,
        producer: 'watcher@test',
        time: new Date(0),
      });
      state = evolveCatalogue(state, { kind: 'logged', sequence: ++seq, event: envelope });
    } else state = evolveCatalogue(state, d);
  };
  for (const h of history) {
    if ('input' in h) decideCatalogue(h.input, state, WINDOW).forEach(apply);
    else apply(h);
  }
  return {
    when: (input: CatalogueInput) => ({
      then: (expected: (d: CatalogueDecision[]) => void) =>
        expected(decideCatalogue(input, state, WINDOW)),
    }),
  };
}

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
    given(
      { input: stable('old.mkv') },
      { input: { kind: 'missing', path: '/lib/old.mkv', now: 0 } },
    )
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
    given(
      { input: stable('old.mkv') },
      { input: { kind: 'missing', path: '/lib/old.mkv', now: 0 } },
    )
      .when(stable('other.mkv', fp({ headTailSha256: 'b'.repeat(64) })))
      .then((d) => assert.equal((d[0] as IdentityEvent).type, 'file.discovered')));

  it('matching a known file that is still present is a copy: a new file', () =>
    given({ input: stable('old.mkv') })
      .when(stable('copy.mkv'))
      .then((d) => assert.equal((d[0] as IdentityEvent).type, 'file.discovered')));
});

describe('catalogue: a known path', () => {
  it('with the same stamp publishes nothing (restart, rescan)', () =>
    given({ input: stable('a.mkv') })
      .when(stable('a.mkv'))
      .then((d) => assert.deepEqual(d, [])));

  it('with another size or mtime is file.changed of the same file', () =>
    given({ input: stable('a.mkv') })
      .when(stable('a.mkv', fp({ size: 50 })))
      .then((d) => {
        assert.equal((d[0] as IdentityEvent).type, 'file.changed');
        assert.equal((d[0] as IdentityEvent).fileId, fileIdFor(library, 'a.mkv'));
      }));

  it('seen missing and back unchanged only clears the mark', () =>
    given({ input: stable('a.mkv') }, { input: { kind: 'missing', path: '/lib/a.mkv', now: 0 } })
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
    given({ input: stable('a.mkv') }, { input: { kind: 'missing', path: '/lib/a.mkv', now: 0 } })
      .when(seen(100, 5))
      .then((d) =>
        assert.deepEqual(d, [{ kind: 'came-back', fileId: fileIdFor(library, 'a.mkv') }]),
      ));
  it('of a known file not missing is nothing new', () =>
    given({ input: stable('a.mkv') })
      .when(seen(100, 5))
      .then((d) => assert.deepEqual(d, [])));
  it('with another stamp decides nothing yet: the stability wait comes first', () =>
    given({ input: stable('a.mkv') }, { input: { kind: 'missing', path: '/lib/a.mkv', now: 0 } })
      .when(seen(101, 5))
      .then((d) => assert.deepEqual(d, [])));
});

describe('catalogue: a known file gone missing', () => {
  const history = [
    { input: stable('a.mkv') },
    { input: { kind: 'missing' as const, path: '/lib/a.mkv', now: 0 } },
  ];

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
});

describe('catalogue: the archiver swapped the content', () => {
  it('the next sighting at the new path is a change of the same file', () => {
    let state = emptyCatalogue();
    const id = fileIdFor(library, 'a.avi');
    const discovered = decideCatalogue(stable('a.avi'), state, WINDOW)[0] as IdentityEvent;
    const { fileId, ...event } = discovered;
    state = evolveCatalogue(state, {
      kind: 'logged',
      sequence: 1,
      event: wrap(event as never, { fileId, producer: 'w', time: new Date(0) }),
    });
    const replaced = wrap(
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
      { fileId: id, producer: 'archiver@h', time: new Date(0) },
    );
    state = evolveCatalogue(state, { kind: 'logged', sequence: 2, event: replaced });
    const next = decideCatalogue(stable('a.mkv', fp({ size: 40, ino: 11 })), state, WINDOW);
    assert.equal((next[0] as IdentityEvent).type, 'file.changed');
    assert.equal((next[0] as IdentityEvent).fileId, id);
    assert.deepEqual(
      decideCatalogue({ kind: 'missing', path: '/lib/a.avi', now: 0 }, state, WINDOW),
      [],
    );
  });
});
