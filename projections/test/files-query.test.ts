import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sampleData, wrap, type EventEnvelope } from '@conform/contracts';
import {
  applyBatch,
  countFiles,
  encodeTimeByDay,
  failuresByReason,
  fileSortKeys,
  listFiles,
  listFilesQuery,
  openReadModels,
  type FileRow,
  type ReadModels,
} from '../src/index.js';

const N = 100_000;
const at = new Date('2026-01-01T00:00:00.000Z');

interface Made {
  /** The order the file was first seen in (its row's insertion order). */
  seen: number;
  fileId: string;
  library: string;
  path: string;
  size: number;
  status: 'probed' | 'queued' | 'compliant';
}

/**
 * 100,000 files over two libraries: every 10th queued, every 7th (else) compliant; about ten
 * files share each size, so the size order has ties to break.
 */
function made(i: number): Made {
  const library = i % 3 === 0 ? '/media/shows' : '/media/movies';
  return {
    seen: i,
    fileId: `f${i}`,
    library,
    path: `${library}/dir${i % 100}/Film${i}.mkv`,
    size: (i * 7919) % 10_007,
    status: i % 10 === 0 ? 'queued' : i % 7 === 0 ? 'compliant' : 'probed',
  };
}

function eventsOf(m: Made): EventEnvelope[] {
  const source = { size: m.size, mtimeMs: 1 };
  const location = { library: m.library, path: m.path };
  const events: EventEnvelope[] = [
    wrap(
      { type: 'file.probed', data: { ...sampleData['file.probed'], ...location, source } },
      { fileId: m.fileId, producer: 'test@host', time: at },
    ),
  ];
  if (m.status !== 'probed') {
    events.push(
      wrap(
        {
          type: 'file.planned',
          data: {
            ...sampleData['file.planned'],
            ...location,
            source,
            decision: m.status === 'queued' ? 'encode' : 'compliant',
          },
        },
        { fileId: m.fileId, producer: 'test@host', time: at },
      ),
    );
  }
  return events;
}

let rm: ReadModels;
const all: Made[] = [];

before(() => {
  rm = openReadModels(':memory:');
  let position = 0;
  let batch: { event: EventEnvelope; position: number }[] = [];
  for (let i = 0; i < N; i++) {
    const m = made(i);
    all.push(m);
    for (const event of eventsOf(m)) batch.push({ event, position: ++position });
    if (batch.length >= 5_000) {
      applyBatch(rm.sqlite, batch);
      batch = [];
    }
  }
  applyBatch(rm.sqlite, batch);
});
after(() => rm.close());

const byPath = (a: Made, b: Made) =>
  a.library < b.library
    ? -1
    : a.library > b.library
      ? 1
      : a.path < b.path
        ? -1
        : a.path > b.path
          ? 1
          : a.seen - b.seen;
const ids = (rows: FileRow[]) => rows.map((r) => r.fileId);

describe('files query over 100,000 files', () => {
  it('counts all files and each filter without loading them', async () => {
    assert.equal(await countFiles(rm.db), N);
    const queued = all.filter((m) => m.status === 'queued').length;
    assert.equal(await countFiles(rm.db, { status: 'queued' }), queued);
    assert.equal(
      await countFiles(rm.db, { status: 'compliant', library: '/media/shows' }),
      all.filter((m) => m.status === 'compliant' && m.library === '/media/shows').length,
    );
  });

  it('pages by path to the very last page', async () => {
    const sorted = [...all].sort(byPath);
    const page = await listFiles(rm.db, { limit: 100, offset: N - 100 });
    assert.deepEqual(
      ids(page),
      sorted.slice(N - 100).map((m) => m.fileId),
    );
    const desc = await listFiles(rm.db, { order: 'desc', limit: 3 });
    assert.deepEqual(
      ids(desc),
      sorted
        .slice(-3)
        .reverse()
        .map((m) => m.fileId),
    );
  });

  it('sorts by size descending with the order files were first seen in breaking ties', async () => {
    const sorted = [...all].sort((a, b) => (b.size !== a.size ? b.size - a.size : b.seen - a.seen));
    assert.ok(sorted[500]!.size === sorted[501]!.size, 'the page starts within a tie');
    const page = await listFiles(rm.db, { sort: 'size', order: 'desc', limit: 50, offset: 500 });
    assert.deepEqual(
      ids(page),
      sorted.slice(500, 550).map((m) => m.fileId),
    );
  });

  it('searches the path case-insensitively, with % and _ taken literally', async () => {
    const found = await listFiles(rm.db, { search: 'film4242', limit: 1_000 });
    const want = all.filter((m) => m.path.toLowerCase().includes('film4242')).sort(byPath);
    assert.deepEqual(
      ids(found),
      want.map((m) => m.fileId),
    );
    assert.equal(await countFiles(rm.db, { search: 'film4242' }), want.length);
    assert.equal(await countFiles(rm.db, { search: 'Film_' }), 0);
    assert.equal(await countFiles(rm.db, { search: '%' }), 0);
  });

  it('filters by status and library, queued in the order they were planned', async () => {
    const page = await listFiles(rm.db, {
      status: 'queued',
      library: '/media/movies',
      sort: 'updated',
      limit: 5,
    });
    const want = all.filter((m) => m.status === 'queued' && m.library === '/media/movies');
    assert.deepEqual(
      ids(page),
      want.slice(0, 5).map((m) => m.fileId),
    );
  });

  it('walks an index for every sort order instead of sorting the table', () => {
    const plans: string[] = [];
    const cases = [
      ...fileSortKeys.flatMap((sort) => [
        { sort, order: 'asc' as const },
        { sort, order: 'desc' as const },
      ]),
      { status: 'queued', sort: 'path' as const },
      { library: '/media/shows', sort: 'path' as const },
    ];
    for (const filter of cases) {
      const q = listFilesQuery(rm.db, filter).compile();
      const plan = rm.sqlite
        .prepare(`explain query plan ${q.sql}`)
        .all(...(q.parameters as unknown[])) as { detail: string }[];
      const text = plan.map((p) => p.detail).join(' | ');
      plans.push(`${JSON.stringify(filter)}: ${text}`);
      assert.doesNotMatch(text, /TEMP B-TREE/, `${JSON.stringify(filter)} sorts: ${text}`);
      assert.match(text, /USING INDEX/, `${JSON.stringify(filter)} scans: ${text}`);
    }
  });
});

describe('statistics queries', () => {
  it('groups failures by reason and encode time per output hour by day and encoder', async () => {
    const stats = openReadModels(':memory:');
    try {
      const loc = { library: '/media/movies', path: '/media/movies/a.mkv' };
      const ev = (type: string, data: object, fileId: string, time: string): EventEnvelope =>
        wrap({ type, data } as Parameters<typeof wrap>[0], {
          fileId,
          producer: 'test@host',
          time: new Date(time),
          discriminator: time,
        });
      const batch = [
        ev('file.probed', { ...sampleData['file.probed'], ...loc }, 'a', '2026-01-01T00:00:00Z'),
        ev(
          'encode.started',
          { ...sampleData['encode.started'], ...loc },
          'a',
          '2026-01-01T00:00:01Z',
        ),
        // 2 s of media (the probed duration) in 4 s: 7,200 s per output hour.
        ev(
          'encode.completed',
          { ...sampleData['encode.completed'], ...loc, elapsedMs: 4_000 },
          'a',
          '2026-01-01T00:00:05Z',
        ),
        ev(
          'encode.failed',
          { ...sampleData['encode.failed'], ...loc },
          'b',
          '2026-01-01T00:01:00Z',
        ),
        ev(
          'encode.failed',
          { ...sampleData['encode.failed'], ...loc },
          'b',
          '2026-01-01T00:02:00Z',
        ),
        ev(
          'encode.failed',
          { ...sampleData['encode.failed'], ...loc },
          'c',
          '2026-01-01T00:03:00Z',
        ),
        ev(
          'file.unreadable',
          { ...sampleData['file.unreadable'], ...loc },
          'd',
          '2026-01-02T00:00:00Z',
        ),
      ].map((event, i) => ({ event, position: i + 1 }));
      applyBatch(stats.sqlite, batch);
      assert.deepEqual(await encodeTimeByDay(stats.db), [
        {
          day: '2026-01-01',
          encoder: 'libx265',
          encodes: 1,
          encodeSeconds: 4,
          mediaSeconds: 2,
          secondsPerOutputHour: 7_200,
        },
      ]);
      assert.deepEqual(await failuresByReason(stats.db), [
        {
          kind: 'encode.failed',
          reason: 'ffmpeg exited 1',
          count: 3,
          files: 2,
          lastTime: '2026-01-01T00:03:00.000Z',
        },
        {
          kind: 'file.unreadable',
          reason: sampleData['file.unreadable'].reason,
          count: 1,
          files: 1,
          lastTime: '2026-01-02T00:00:00.000Z',
        },
      ]);
    } finally {
      await stats.close();
    }
  });
});
