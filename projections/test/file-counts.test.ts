import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type Database from 'better-sqlite3';
import { sampleData, wrap, type EventEnvelope, type EventType } from '@conform/contracts';
import {
  applyBatch,
  bulkApplier,
  complianceByLibrary,
  fileCountRows,
  fileStatusCounts,
  openForRebuild,
  openReadModels,
  type PositionedEvent,
} from '../src/index.js';

// Lifecycles that move a file through several statuses, one of them back to an earlier one
// (changed and probed again) and one out of the library (removed).
const lifecycles: readonly (readonly EventType[])[] = [
  ['file.discovered', 'file.probed', 'file.planned'],
  ['file.discovered', 'file.probed', 'file.planned', 'encode.started', 'encode.completed'],
  ['file.discovered', 'file.unreadable'],
  ['file.discovered', 'file.probed', 'file.planned', 'file.changed', 'file.probed'],
  [
    'file.discovered',
    'file.probed',
    'file.planned',
    'encode.started',
    'encode.completed',
    'verify.failed',
    'file.kept',
  ],
  ['file.discovered', 'file.probed', 'file.planned', 'file.removed'],
  ['file.discovered'],
];

/** Files of two libraries, their events interleaved as a pipeline writes them. */
function log(files: number): EventEnvelope[] {
  const perFile = Array.from({ length: files }, (_, f) => {
    const library = f % 3 === 0 ? '/lib/b' : '/lib/a';
    const types = lifecycles[f % lifecycles.length]!;
    return types.map((type, i) =>
      wrap(
        {
          type,
          data: { ...sampleData[type], library, path: `${library}/f${f}.mkv` },
        } as never,
        {
          fileId: `f${f}`,
          producer: 'test@host',
          time: new Date(Date.UTC(2026, 2, 1, 10, 0, f + i)),
        },
      ),
    );
  });
  const events: EventEnvelope[] = [];
  for (let step = 0; perFile.some((e) => e.length > step); step++)
    for (const e of perFile) if (e[step]) events.push(e[step]!);
  return events;
}

const positioned = (events: EventEnvelope[], from: number): PositionedEvent[] =>
  events.map((event, i) => ({ position: from + i, event }));

/** What the counts must equal: the files table counted. */
function counted(sqlite: Database.Database) {
  return sqlite
    .prepare(
      'select library, status, count(*) as files from files group by library, status order by 1, 2',
    )
    .all();
}

describe('file counts', () => {
  it('keep the files of each library and status as every batch moves them, as a count of the table gives', async () => {
    const models = openReadModels(':memory:');
    const events = log(60);
    const seen = new Set<string>();
    for (let from = 0; from < events.length; from += 25) {
      applyBatch(models.sqlite, positioned(events.slice(from, from + 25), from + 1));
      const rows = await fileCountRows(models.db);
      assert.deepEqual(rows, counted(models.sqlite));
      for (const r of rows) seen.add(r.status);
    }
    // The log moved files through these, so the counts followed status changes, not inserts only.
    for (const status of [
      'discovered',
      'probed',
      'queued',
      'encoded',
      'kept',
      'unreadable',
      'removed',
    ])
      assert.ok(seen.has(status), `a batch left files ${status}`);
    // Every file discovered first and moved on: no row is left at 0.
    assert.ok(!(await fileCountRows(models.db)).some((r) => r.files === 0));
    const byStatus = await fileStatusCounts(models.db);
    assert.equal(
      Object.values(byStatus).reduce((a, b) => a + b, 0),
      60,
    );
    assert.deepEqual(
      (await complianceByLibrary(models.db)).map((l) => l.library),
      ['/lib/a', '/lib/b'],
    );
    await models.close();
  });

  it('are counted once at the end of a rebuild, and kept by the live projector after it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conform-counts-'));
    try {
      const events = log(90);
      const half = Math.floor(events.length / 2);
      const staging = openForRebuild(join(dir, 'rm.sqlite'));
      const applier = bulkApplier(staging.readModels.sqlite, { batchSize: 40 });
      events.slice(0, half).forEach((event, i) => applier.apply(i + 1, event));
      applier.commit();
      staging.finish();
      const models = staging.readModels;
      assert.notDeepEqual(counted(models.sqlite), []);
      assert.deepEqual(await fileCountRows(models.db), counted(models.sqlite));
      // The rest as the live projector applies it, on the rebuilt file.
      applyBatch(models.sqlite, positioned(events.slice(half), half + 1));
      assert.deepEqual(await fileCountRows(models.db), counted(models.sqlite));
      await models.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
