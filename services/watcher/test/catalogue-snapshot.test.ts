// The catalogue snapshot against real parts: a watcher over a real library and its own
// nats-server, restarted with the snapshot it wrote, and with snapshots that must not be used.
// What counts is the catalogue: after every restart it must equal the fold of the whole log.
// Over 250 lines: each fall-back needs its own run of the watcher before and after.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { fileIdFor, type EventEnvelope } from '@conform/contracts';
import {
  EVENT_LOG_STREAM,
  EventPublisher,
  eventually,
  recordingLogger,
  silentLogger,
  startTestBus,
  type RunningService,
  type TestBus,
} from '@conform/bus';
import { startWatcher } from '../src/index.js';
import {
  captureCatalogue,
  CATALOGUE_SNAPSHOT_FILE,
  decodeSnapshot,
  encodeSnapshot,
  readCatalogueSnapshot,
  writeCatalogueSnapshot,
  type LogIdentity,
} from '../src/catalogue-snapshot.js';
import {
  CATALOGUE_EVENT_TYPES,
  emptyCatalogue,
  evolveCatalogue,
  type Catalogue,
  type CatalogueEntry,
} from '../src/decide.js';
import { followEventLog } from '../src/log-follower.js';

const WINDOW_MS = 600;
let base: string;
let t: TestBus;
const running: RunningService[] = [];

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'conform-snapshot-'));
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
  const bus = t;
  t = undefined as unknown as TestBus;
  await bus?.cleanup();
});
after(async () => {
  await rm(base, { recursive: true, force: true });
});

/** A library of three files and a state directory, on a nats-server of its own. */
async function setUp(name: string) {
  t = await startTestBus(`snapshot-${name}`);
  const root = join(base, name, 'library');
  const stateDir = join(base, name, 'state');
  await mkdir(join(root, 'Show'), { recursive: true });
  await mkdir(stateDir, { recursive: true });
  await writeFile(join(root, 'A.avi'), 'a'.repeat(100));
  await writeFile(join(root, 'Show', 'B.mkv'), 'b'.repeat(200));
  await writeFile(join(root, 'Show', 'C.mkv'), 'c'.repeat(300));
  return { root, stateDir, path: join(stateDir, CATALOGUE_SNAPSHOT_FILE) };
}

/** Starts a watcher with a state directory and waits until its scan settled. */
async function watchSettled(root: string, stateDir: string) {
  const { log, records } = recordingLogger();
  const publisher = new EventPublisher(t.bus.js, { producer: 'watcher@test', nc: t.bus.nc });
  const lastSeq = await lastSequence();
  const service = await startWatcher(
    { bus: t.bus, publisher, log, eventLog: { maxBytes: 64 * 1024 ** 2 } },
    { libraries: [{ root }], stabilityWindowMs: WINDOW_MS, stateDir },
  );
  running.push(service);
  await eventually(() => records.find((r) => r.msg === 'library scan settled'), {
    timeoutMs: 20_000,
    what: 'the scan to settle',
  });
  const line = (msg: string) => records.find((r) => String(r.msg).startsWith(msg));
  return {
    lastSeq,
    line,
    stop: async () => {
      running.splice(running.indexOf(service), 1);
      await service.stop();
    },
  };
}

async function lastSequence(): Promise<number> {
  const info = await t.bus.jsm.streams.info(EVENT_LOG_STREAM).catch(() => null);
  return info?.state.last_seq ?? 0;
}

async function logIdentity(): Promise<LogIdentity & { lastSeq: number }> {
  const info = await t.bus.jsm.streams.info(EVENT_LOG_STREAM);
  return {
    stream: EVENT_LOG_STREAM,
    created: info.created,
    firstSeq: info.state.first_seq,
    lastSeq: info.state.last_seq,
  };
}

/** The catalogue a full read of the log folds, as the watcher built it before snapshots. */
async function foldWholeLog(): Promise<Catalogue> {
  let catalogue = emptyCatalogue();
  const follower = await followEventLog(
    t.bus.js,
    (event, sequence) => {
      catalogue = evolveCatalogue(catalogue, { kind: 'logged', sequence, event });
    },
    silentLogger(),
    { types: CATALOGUE_EVENT_TYPES },
  );
  await follower.stop();
  return catalogue;
}

/** The snapshot's catalogue, read as a start reads it. */
async function snapshotCatalogue(
  path: string,
): Promise<{ sequence: number; catalogue: Catalogue }> {
  const loaded = await readCatalogueSnapshot(path, await logIdentity());
  assert.ok(loaded.ok, loaded.ok ? '' : loaded.reason);
  return { sequence: loaded.header.sequence, catalogue: loaded.catalogue };
}

/** A catalogue's content, order aside, for comparisons. */
function contentOf(c: Catalogue) {
  const sorted = <V>(m: Map<string, V>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1));
  return { files: sorted(c.files), byPath: sorted(c.byPath) };
}

/** The watcher's events after `sequence`, as `type path`. */
async function watcherEventsAfter(sequence: number): Promise<string[]> {
  const found: string[] = [];
  for (let seq = sequence + 1; seq <= (await lastSequence()); seq++) {
    const m = await t.bus.jsm.streams.getMessage(EVENT_LOG_STREAM, { seq });
    const event = m?.json<EventEnvelope>();
    if (event?.producer === 'watcher@test')
      found.push(`${event.type} ${(event.data as { path: string }).path}`);
  }
  return found.sort();
}

describe('catalogue snapshot: encoding', () => {
  it('round-trips entries of every shape: relative path kept, path outside its library, no hash, swapped content, a path owned by another entry', async () => {
    const lib = '/media/tv';
    const entry = (e: Partial<CatalogueEntry> & { fileId: string; path: string }) =>
      ({
        library: lib,
        size: 10,
        mtimeMs: 1_700_000_000_123.4567,
        hash: 'ab',
        sequence: 3,
        ...e,
      }) as CatalogueEntry;
    const c = emptyCatalogue();
    const entries = [
      entry({ fileId: 'f1', path: `${lib}/Show/e1.mkv` }),
      entry({ fileId: 'f2', path: `${lib}/odd\n\ttab "name".mkv`, relativePath: 'elsewhere.mkv' }),
      entry({ fileId: 'f3', path: '/other/place.mkv', library: '/media/films', hash: null }),
      entry({ fileId: 'f4', path: `${lib}/Show/e1.mkv`, size: -1, mtimeMs: -1, sequence: 7 }),
    ];
    for (const e of entries) c.files.set(e.fileId, e);
    c.byPath.set(`${lib}/odd\n\ttab "name".mkv`, 'f2');
    c.byPath.set('/other/place.mkv', 'f3');
    c.byPath.set(`${lib}/Show/e1.mkv`, 'f4'); // f1 lost its path to f4
    const log = { stream: EVENT_LOG_STREAM, created: '2026-01-01T00:00:00Z', firstSeq: 1 };
    const lines = [...encodeSnapshot(captureCatalogue(c, 9), log)].map((l) => l.slice(0, -1));
    const { header, catalogue } = await decodeSnapshot(lines, () => null);
    assert.equal(header.sequence, 9);
    assert.deepEqual(contentOf(catalogue), contentOf(c));
    assert.equal(catalogue.files.get('f1')!.relativePath, undefined);
  });

  it('refuses a truncated, reordered or altered snapshot', async () => {
    const c = emptyCatalogue();
    for (let i = 0; i < 5_000; i++) {
      const path = `/lib/Show ${i}.mkv`;
      c.files.set(`f${i}`, {
        fileId: `f${i}`,
        library: '/lib',
        path,
        size: i,
        mtimeMs: i,
        hash: null,
        sequence: i,
      });
      c.byPath.set(path, `f${i}`);
    }
    const log = { stream: EVENT_LOG_STREAM, created: 'x', firstSeq: 1 };
    const lines = [...encodeSnapshot(captureCatalogue(c, 5_000), log)].map((l) => l.slice(0, -1));
    assert.equal(lines.length, 4, 'header, two lines of entries, trailer');
    const reasons = async (ls: string[]) =>
      decodeSnapshot(ls, () => null).then(
        () => 'used',
        (err: Error) => err.message,
      );
    assert.match(await reasons(lines.slice(0, 2)), /truncated/);
    assert.match(await reasons([lines[0]!, lines[2]!, lines[1]!, lines[3]!]), /checksum/);
    assert.match(
      await reasons([lines[0]!, lines[1]!.replace('"f17"', '"f18"'), lines[2]!, lines[3]!]),
      /malformed|checksum/,
    );
    assert.match(
      await reasons([lines[0]!, lines[1]!.replace('Show 17', 'Show 71'), lines[2]!, lines[3]!]),
      /checksum/,
    );
    assert.match(await reasons([lines[0]!, lines[1]!.slice(0, 100)]), /JSON/);
    assert.equal(await reasons(lines), 'used');
  });
});

describe('catalogue snapshot: restarts', () => {
  it('reads only the log after the snapshot and ends with the catalogue of a full read, changes made while down included', async () => {
    const { root, stateDir, path } = await setUp('round-trip');
    const first = await watchSettled(root, stateDir);
    assert.match(String(first.line('catalogue snapshot not used')?.reason), /missing/);
    await eventually(() => first.line('catalogue snapshot written'), { what: 'the snapshot' });
    await first.stop();
    const snap = await snapshotCatalogue(path);
    assert.equal(snap.catalogue.files.size, 3);
    assert.deepEqual(contentOf(snap.catalogue), contentOf(await foldWholeLog()));

    // While the watcher is down: the archiver swaps A.avi for A.mkv (its event lands after the
    // snapshot), B changes on disk, D appears.
    const aId = fileIdFor(root, 'A.avi');
    await rm(join(root, 'A.avi'));
    await writeFile(join(root, 'A.mkv'), 'A'.repeat(40));
    await new EventPublisher(t.bus.js, { producer: 'archiver@test' }).emit(
      {
        type: 'file.replaced',
        data: {
          library: root,
          path: join(root, 'A.avi'),
          newPath: join(root, 'A.mkv'),
          archivePath: join(base, 'archive', 'A.avi'),
          originalSize: 100,
          newSize: 40,
          bytesSaved: 60,
        },
      },
      { fileId: aId, discriminator: 'swap' },
    );
    await writeFile(join(root, 'Show', 'B.mkv'), 'B'.repeat(250));
    await writeFile(join(root, 'Show', 'D.mkv'), 'd'.repeat(50));
    // What a write killed midway leaves behind: removed at the next start.
    const stale = `${path}.99999.tmp`;
    await writeFile(stale, 'half a snapshot');

    const second = await watchSettled(root, stateDir);
    await assert.rejects(stat(stale), { code: 'ENOENT' });
    const loaded = second.line('catalogue loaded from its snapshot');
    assert.equal(loaded?.sequence, snap.sequence);
    const caughtUp = second.line('catalogue caught up with the log');
    assert.equal(caughtUp?.after, snap.sequence);
    assert.equal(caughtUp?.read, second.lastSeq - snap.sequence, 'read the events after it only');
    assert.ok(second.lastSeq > snap.sequence);
    await second.stop();

    // The swap was followed: A.mkv is a change of A, not a new file, and A.avi is not removed.
    assert.deepEqual(await watcherEventsAfter(second.lastSeq), [
      `file.changed ${join(root, 'A.mkv')}`,
      `file.changed ${join(root, 'Show', 'B.mkv')}`,
      `file.discovered ${join(root, 'Show', 'D.mkv')}`,
    ]);
    const full = await foldWholeLog();
    assert.equal(full.byPath.get(join(root, 'A.mkv')), aId);
    const final = await snapshotCatalogue(path);
    assert.equal(final.sequence, await lastSequence());
    assert.deepEqual(contentOf(final.catalogue), contentOf(full));
  });

  /** A first run, a snapshot spoilt by `spoil`, a restart that must read the whole log. */
  async function fallsBack(
    name: string,
    spoil: (path: string) => Promise<void>,
    reason: RegExp,
    expected: (root: string) => string[] = () => [],
  ) {
    const { root, stateDir, path } = await setUp(name);
    const first = await watchSettled(root, stateDir);
    await eventually(() => first.line('catalogue snapshot written'), { what: 'the snapshot' });
    await first.stop();
    await spoil(path);
    const second = await watchSettled(root, stateDir);
    assert.match(String(second.line('catalogue snapshot not used')?.reason), reason);
    assert.equal(second.line('catalogue loaded from its snapshot'), undefined);
    const caughtUp = second.line('catalogue caught up with the log');
    assert.equal(caughtUp?.after, 0);
    assert.equal(caughtUp?.read, second.lastSeq, 'the whole log read');
    await second.stop();
    // Nothing lost, nothing announced twice, and a good snapshot in its place.
    assert.deepEqual(await watcherEventsAfter(second.lastSeq), expected(root));
    const final = await snapshotCatalogue(path);
    assert.equal(final.catalogue.files.size, 3);
    assert.deepEqual(contentOf(final.catalogue), contentOf(await foldWholeLog()));
  }

  it('falls back to the whole log when the snapshot is corrupt', async () => {
    await fallsBack(
      'corrupt',
      async (path) => {
        const text = await readFile(path, 'utf8');
        await writeFile(path, text.replace('B.mkv', 'X.mkv'));
      },
      /checksum/,
    );
  });

  it('falls back to the whole log when the snapshot is cut short', async () => {
    await fallsBack(
      'truncated',
      async (path) => {
        const text = await readFile(path, 'utf8');
        await writeFile(path, text.slice(0, text.indexOf('\n', text.indexOf('\n') + 1) + 1));
      },
      /truncated/,
    );
  });

  it('falls back to the whole log when the snapshot is of another stream (deleted and created again)', async () => {
    await fallsBack(
      'other-stream',
      async () => {
        await t.bus.jsm.streams.delete(EVENT_LOG_STREAM);
      },
      /another CONFORM_EVENTS stream/,
      // The new log knows nothing: each file is discovered once, in it.
      (root) =>
        [
          `file.discovered ${join(root, 'A.avi')}`,
          `file.discovered ${join(root, 'Show', 'B.mkv')}`,
          `file.discovered ${join(root, 'Show', 'C.mkv')}`,
        ].sort(),
    );
  });

  it('falls back to the whole log when the snapshot covers sequences beyond the log', async () => {
    await fallsBack(
      'ahead',
      async (path) => {
        // As after restoring an older copy of the store under a newer snapshot: same stream.
        const { catalogue } = await snapshotCatalogue(path);
        const { lastSeq, ...identity } = await logIdentity();
        await writeCatalogueSnapshot(path, captureCatalogue(catalogue, lastSeq + 10), identity);
      },
      /beyond the log's last/,
    );
  });
});
