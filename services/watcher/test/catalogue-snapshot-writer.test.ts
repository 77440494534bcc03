// The snapshot writer streams entry by entry into one reused buffer (no whole-line strings):
// its file must be byte for byte what the whole-line encoder of format 1 wrote (so snapshots
// written before and after read alike), and the reader must take it back as the same catalogue.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  captureCatalogue,
  encodeSnapshot,
  readCatalogueSnapshot,
  writeCatalogueSnapshot,
  type CatalogueCapture,
  type LogIdentity,
} from '../src/catalogue-snapshot.js';
import { emptyCatalogue, type Catalogue, type CatalogueEntry } from '../src/decide.js';

let base: string;
before(async () => {
  base = await mkdtemp(join(tmpdir(), 'conform-snapshot-writer-'));
});
after(async () => {
  await rm(base, { recursive: true, force: true });
});

/** Format 1 as it was first written: whole lines of JSON.stringify(rows), 4,096 rows a line. */
function referenceEncoding(capture: CatalogueCapture, log: LogIdentity): string {
  const libraries = [...new Set(capture.entries.map((e) => e.library))];
  const index = new Map(libraries.map((l, i) => [l, i]));
  const hash = createHash('sha256');
  const lines: string[] = [];
  const line = (text: string) => {
    hash.update(text).update('\n');
    lines.push(`${text}\n`);
  };
  const files = capture.entries.length;
  line(JSON.stringify({ format: 1, log, sequence: capture.sequence, libraries, files }));
  for (let i = 0; i < files; i += 4_096) {
    const rows = capture.entries.slice(i, i + 4_096).map((e, k) => {
      const below = e.path.startsWith(e.library + '/');
      const flags = (capture.ownsPath[i + k] ? 1 : 0) | (below ? 0 : 2);
      const row: unknown[] = [
        e.fileId,
        index.get(e.library),
        below ? e.path.slice(e.library.length + 1) : e.path,
        e.size,
        e.mtimeMs,
        e.hash,
        e.sequence,
        flags,
      ];
      if (e.relativePath !== undefined) row.push(e.relativePath);
      return row;
    });
    line(JSON.stringify(rows));
  }
  lines.push(`${JSON.stringify({ end: true, files, sha256: hash.digest('hex') })}\n`);
  return lines.join('');
}

/** A catalogue of `n` files of every shape, in two libraries, with multi-byte names. */
function catalogueOf(n: number): Catalogue {
  const c = emptyCatalogue();
  for (let i = 0; i < n; i++) {
    const library = i % 7 === 0 ? '/media/films' : '/media/tv';
    const path =
      i % 11 === 0
        ? `/elsewhere/Épisode ${i} — «ça» "q"\t.mkv`
        : `${library}/Show ${i % 50}/Season 01/Episode ${i} 日本.mkv`;
    const e: CatalogueEntry = {
      fileId: `f${i.toString(16).padStart(23, '0')}`,
      library,
      path,
      size: i % 13 === 0 ? -1 : i * 1_000,
      mtimeMs: 1_700_000_000_000 + i + 0.125,
      hash: i % 5 === 0 ? null : createHash('sha256').update(String(i)).digest('hex'),
      sequence: i + 1,
    };
    if (i % 11 === 0) e.relativePath = `moved/${i}.mkv`;
    c.files.set(e.fileId, e);
    // Every third path was taken over by a later entry: the older does not own it.
    if (i % 3 !== 0) c.byPath.set(path, e.fileId);
  }
  return c;
}

const log: LogIdentity = { stream: 'CONFORM_EVENTS', created: '2026-12-01T00:00:00Z', firstSeq: 1 };

describe('catalogue snapshot writer', () => {
  it('writes, entry by entry, the bytes of the whole-line encoding, and the reader takes them back', async () => {
    // Three lines of entries, the last one partial, and writes of the buffer in between.
    const catalogue = catalogueOf(9_000);
    const capture = captureCatalogue(catalogue, 9_000);
    const path = join(base, 'streamed.snapshot');
    await writeCatalogueSnapshot(path, capture, log);
    const written = await readFile(path, 'utf8');
    const expected = referenceEncoding(capture, log);
    assert.ok(written === expected, 'the file differs from the whole-line encoding');
    assert.equal([...encodeSnapshot(capture, log)].join(''), expected);
    assert.equal(written.split('\n').length - 1, 5, 'header, three lines of entries, trailer');

    const read = await readCatalogueSnapshot(path, { ...log, lastSeq: 9_000 });
    assert.ok(read.ok, read.ok ? '' : read.reason);
    assert.deepEqual([...read.catalogue.files], [...catalogue.files]);
    assert.deepEqual([...read.catalogue.byPath].sort(), [...catalogue.byPath].sort());
  });

  it('writes an entry larger than its buffer whole', async () => {
    const catalogue = catalogueOf(3);
    const huge = `/media/tv/${'x'.repeat(1_200_000)}.mkv`;
    catalogue.files.set('fbig', {
      fileId: 'fbig',
      library: '/media/tv',
      path: huge,
      size: 1,
      mtimeMs: 2,
      hash: null,
      sequence: 3,
    });
    catalogue.byPath.set(huge, 'fbig');
    const capture = captureCatalogue(catalogue, 3);
    const path = join(base, 'huge.snapshot');
    await writeCatalogueSnapshot(path, capture, log);
    assert.ok((await readFile(path, 'utf8')) === referenceEncoding(capture, log));
    const read = await readCatalogueSnapshot(path, { ...log, lastSeq: 3 });
    assert.ok(read.ok && read.catalogue.files.get('fbig')?.path === huge);
  });
});
