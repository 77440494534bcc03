import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  appendFile,
  mkdir,
  mkdtemp,
  rename,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { fileIdFor, isValidFileId, type EventEnvelope } from '@conform/contracts';
import {
  EVENT_LOG_STREAM,
  EventPublisher,
  eventually,
  silentLogger,
  startTestBus,
  PublishError,
  type RunningService,
  type TestBus,
} from '@conform/bus';
import { startWatcher } from '../src/index.js';

const WINDOW_MS = 600;
let t: TestBus;
let publisher: EventPublisher;
let base: string;
const running: RunningService[] = [];

before(async () => {
  t = await startTestBus('watcher-test');
  // With the connection, as conform up gives it: the outbox's batches are pipelined.
  publisher = new EventPublisher(t.bus.js, { producer: 'watcher@test', nc: t.bus.nc });
  base = await mkdtemp(join(tmpdir(), 'conform-watcher-'));
});
after(async () => {
  await Promise.all(running.map((s) => s.stop()));
  await t.cleanup();
  await rm(base, { recursive: true, force: true });
});

async function newLibrary(name: string): Promise<string> {
  const root = join(base, name);
  await mkdir(root, { recursive: true });
  return root;
}

async function watch(root: string, windowMs = WINDOW_MS, pub: EventPublisher = publisher) {
  const service = await startWatcher(
    { bus: t.bus, publisher: pub, log: silentLogger(), eventLog: { maxBytes: 64 * 1024 ** 2 } },
    { libraries: [{ root }], stabilityWindowMs: windowMs },
  );
  running.push(service);
  return service;
}

type Discovered = EventEnvelope<'file.discovered'>;

/** Every file.discovered in the event log for one library, in stream order. */
async function discoveredIn(library: string): Promise<Discovered[]> {
  const info = await t.bus.jsm.streams.info(EVENT_LOG_STREAM).catch(() => null);
  const found: Discovered[] = [];
  for (let seq = 1; seq <= (info?.state.last_seq ?? 0); seq++) {
    const m = await t.bus.jsm.streams.getMessage(EVENT_LOG_STREAM, { seq }).catch(() => null);
    const event = m?.json<EventEnvelope>();
    if (event?.type === 'file.discovered' && event.data.library === library) found.push(event);
  }
  return found;
}

/** Every file.* event the watcher wrote for one library, in stream order. */
type WatcherEvent = EventEnvelope<
  'file.discovered' | 'file.changed' | 'file.moved' | 'file.removed'
>;
async function fileEventsIn(library: string): Promise<WatcherEvent[]> {
  const info = await t.bus.jsm.streams.info(EVENT_LOG_STREAM).catch(() => null);
  const found: WatcherEvent[] = [];
  for (let seq = 1; seq <= (info?.state.last_seq ?? 0); seq++) {
    const m = await t.bus.jsm.streams.getMessage(EVENT_LOG_STREAM, { seq }).catch(() => null);
    const event = m?.json<WatcherEvent>();
    if (
      event?.producer === 'watcher@test' &&
      (event.data as { library?: string }).library === library
    ) {
      found.push(event);
    }
  }
  return found;
}

async function discoveredAt(library: string, path: string, what = path) {
  return eventually(async () => (await discoveredIn(library)).find((e) => e.data.path === path), {
    timeoutMs: 20_000,
    what: `file.discovered for ${what}`,
  });
}

describe('watcher', () => {
  it('discovers a file that exists at start, with its stat and a path-derived id', async () => {
    const root = await newLibrary('existing');
    await mkdir(join(root, 'Film (2020)'));
    const path = join(root, 'Film (2020)', 'Film.mkv');
    await writeFile(path, 'x'.repeat(1234));
    const stats = await stat(path);
    await watch(root);

    const event = await discoveredAt(root, path);
    assert.deepEqual(event.data, {
      library: root,
      path,
      relativePath: join('Film (2020)', 'Film.mkv'),
      size: 1234,
      mtimeMs: stats.mtimeMs,
      fingerprint: {
        dev: stats.dev,
        ino: stats.ino,
        size: 1234,
        mtimeMs: stats.mtimeMs,
        headTailSha256: createHash('sha256').update('x'.repeat(1234)).digest('hex'),
      },
    });
    assert.equal(event.fileId, fileIdFor(root, join('Film (2020)', 'Film.mkv')));
    assert.equal(event.causationId, null);
  });

  /** Files with hour-old mtimes: older than the window, so stable on first sight. */
  async function writeOldFiles(root: string, names: string[]): Promise<void> {
    const hourAgo = new Date(Date.now() - 3_600_000);
    for (const name of names) {
      await writeFile(join(root, name), name);
      await utimes(join(root, name), hourAgo, hourAgo);
    }
  }

  /** Starts a watcher on `root`; each onScanSettled call records what the log then holds. */
  async function watchCountingSettles(root: string): Promise<number[]> {
    const calls: number[] = [];
    const service = await startWatcher(
      { bus: t.bus, publisher, log: silentLogger(), eventLog: { maxBytes: 64 * 1024 ** 2 } },
      {
        libraries: [{ root }],
        stabilityWindowMs: WINDOW_MS,
        onScanSettled: () => void discoveredIn(root).then((found) => calls.push(found.length)),
      },
    );
    running.push(service);
    return calls;
  }

  it('calls onScanSettled once, after the first scan announced every file', async () => {
    const root = await newLibrary('settled');
    // Older than the window: stable on first sight, so the first scan announces all three (a
    // fresh file would wait out the window, and does not hold the callback up).
    await writeOldFiles(root, ['A.mkv', 'B.mkv', 'C.mkv']);
    const calls = await watchCountingSettles(root);
    await eventually(() => calls.length > 0);
    assert.deepEqual(calls, [3]);
    // A later file is discovered live; the first scan does not settle a second time.
    await writeFile(join(root, 'D.mkv'), 'D');
    await eventually(async () => (await discoveredIn(root)).length === 4);
    assert.deepEqual(calls, [3]);
  });

  it('calls onScanSettled without waiting for a file still being written', async () => {
    const root = await newLibrary('settled-writing');
    await writeOldFiles(root, ['A.mkv', 'B.mkv']);
    const growing = join(root, 'Recording.mkv');
    await writeFile(growing, 'x');
    // Appended to until the callback came: it never holds still for a window before that.
    let writing = true;
    const appending = (async () => {
      while (writing) {
        await appendFile(growing, 'x');
        await sleep(WINDOW_MS / 6);
      }
    })();
    const calls = await watchCountingSettles(root);
    try {
      await eventually(() => calls.length > 0);
    } finally {
      writing = false;
      await appending;
    }
    assert.deepEqual(calls, [2], 'the two stable files, not the one being written');
    await eventually(async () => (await discoveredIn(root)).length === 3);
    assert.deepEqual(calls, [2]);
  });

  it('discovers a slowly written file once, with its final size', async () => {
    const root = await newLibrary('slow');
    const windowMs = 1_000;
    await watch(root, windowMs);
    const path = join(root, 'slow.mp4');
    const chunk = Buffer.alloc(64 * 1024, 7);
    const chunks = 15;
    for (let i = 0; i < chunks; i++) {
      await appendFile(path, chunk);
      await sleep(200); // well inside the window: the file must never look finished
    }
    const first = await discoveredAt(root, path);
    assert.equal(first.data.size, chunks * chunk.length);
    await sleep(3 * windowMs); // time for any second, wrong announcement to show up
    const all = (await discoveredIn(root)).filter((e) => e.data.path === path);
    assert.equal(all.length, 1, `discovered ${all.length} times: ${all.map((e) => e.data.size)}`);
  });

  it('ignores hidden folders, the work directory, partial names and non-videos', async () => {
    const root = await newLibrary('ignored');
    await watch(root);
    await mkdir(join(root, '.conform-work'));
    await mkdir(join(root, 'Show', '.hidden'), { recursive: true });
    const ignored = [
      join(root, '.conform-work', 'f123.mkv'),
      join(root, 'Show', '.hidden', 'e1.mkv'),
      join(root, 'Show', '.dotfile.mkv'),
      join(root, 'Show', 'e2.mkv.part'),
      join(root, 'Show', 'e3.mkv.!qB'),
      join(root, 'Show', 'e4.mkv.crdownload'),
      join(root, 'Show', 'e5.mkv.tmp'),
      join(root, 'Show', 'e1.srt'),
      join(root, 'Show', 'poster.jpg'),
    ];
    for (const p of ignored) await writeFile(p, 'data');
    // Written last: once it is discovered, the ignored files had at least as long.
    const sentinel = join(root, 'Show', 'e6.MKV');
    await writeFile(sentinel, 'data');
    await discoveredAt(root, sentinel);
    await sleep(WINDOW_MS);
    assert.deepEqual(
      (await discoveredIn(root)).map((e) => e.data.path),
      [sentinel],
    );
  });

  it('neither follows nor discovers symlinks out of the library', async () => {
    const root = await newLibrary('links');
    const outside = await newLibrary('outside-links');
    await writeFile(join(outside, 'real.mkv'), 'outside');
    await symlink(join(outside, 'real.mkv'), join(root, 'link.mkv'));
    await symlink(outside, join(root, 'linked-folder'));
    await watch(root);
    await symlink(join(outside, 'real.mkv'), join(root, 'late-link.mkv'));
    const sentinel = join(root, 'real-one.mkv');
    await writeFile(sentinel, 'inside');
    await discoveredAt(root, sentinel);
    await sleep(WINDOW_MS);
    assert.deepEqual(
      (await discoveredIn(root)).map((e) => e.data.path),
      [sentinel],
    );
  });

  it('handles names with spaces, quotes, unicode and a leading dash', async () => {
    const root = await newLibrary('names');
    await watch(root);
    const relativePath = join(`Shōw "Q" 'A'`, `-rf "quoted" it's ünïcødé 日本 .mkv`);
    const path = join(root, relativePath);
    await mkdir(join(root, `Shōw "Q" 'A'`));
    await writeFile(path, 'named');
    const event = await discoveredAt(root, path);
    assert.equal(event.data.relativePath, relativePath);
    assert.equal(event.fileId, fileIdFor(root, relativePath));
    assert.ok(isValidFileId(event.fileId));
  });

  it('announces new content at a known path as file.changed of the same file', async () => {
    const root = await newLibrary('replaced');
    const path = join(root, 'Film.mkv');
    await writeFile(path, 'original bytes, rather long');
    await watch(root);
    await discoveredAt(root, path, 'the original');
    await mkdir(join(root, '.conform-work'));
    await writeFile(join(root, '.conform-work', 'out.mkv'), 'smaller');
    await rename(join(root, '.conform-work', 'out.mkv'), path);
    const changed = await eventually(
      async () =>
        (await fileEventsIn(root)).find((e) => e.type === 'file.changed' && e.data.path === path),
      { timeoutMs: 20_000, what: 'the change' },
    );
    const discovered = (await discoveredIn(root)).filter((e) => e.data.path === path);
    assert.equal(discovered.length, 1, 'discovered once');
    assert.equal(changed.fileId, discovered[0]?.fileId, 'same file, same id');
    assert.equal((changed.data as { size: number }).size, 7);
  });

  it('retries a publish the event log refused on a later tick', async () => {
    const root = await newLibrary('retry');
    let refusals = 0;
    class FlakyPublisher extends EventPublisher {
      override async publishBatch(
        events: readonly EventEnvelope[],
        opts: Parameters<EventPublisher['publishBatch']>[1],
      ) {
        if (refusals < 2) {
          refusals++;
          return events.map(() => new PublishError('simulated: the event log is unreachable'));
        }
        return super.publishBatch(events, opts);
      }
    }
    const path = join(root, 'Film.webm');
    await writeFile(path, 'webm');
    const flaky = new FlakyPublisher(t.bus.js, { producer: 'watcher@test', nc: t.bus.nc });
    await watch(root, WINDOW_MS, flaky);
    await discoveredAt(root, path);
    assert.equal(refusals, 2);
    assert.equal((await discoveredIn(root)).length, 1);
  });
});

describe('file identity', () => {
  it('publishes nothing for known files when the watcher restarts', async () => {
    const root = await newLibrary('restart');
    await writeFile(join(root, 'A.mkv'), 'a'.repeat(100));
    await writeFile(join(root, 'B.mp4'), 'b'.repeat(200));
    const first = await watch(root);
    await eventually(async () => (await discoveredIn(root)).length === 2, {
      what: 'two discoveries',
    });
    await first.stop();
    const before = (await t.bus.jsm.streams.info(EVENT_LOG_STREAM)).state.last_seq;
    const second = await watch(root);
    // A marker file written after the restart proves the new watcher has done its scan.
    await writeFile(join(root, 'C.mkv'), 'c');
    await discoveredAt(root, join(root, 'C.mkv'), 'the marker');
    await second.stop();
    const events = (await fileEventsIn(root)).filter((e) => e.data.path !== join(root, 'C.mkv'));
    assert.equal(
      events.length,
      2,
      events.map((e) => `${e.type} ${String(e.data.path)}`).join(', '),
    );
    const after = (await t.bus.jsm.streams.info(EVENT_LOG_STREAM)).state.last_seq;
    assert.equal(after - before, 1, 'only the marker was published');
  });

  it('keeps the id of a file renamed or moved to another folder, and announces file.moved', async () => {
    const root = await newLibrary('moves');
    await mkdir(join(root, 'Incoming'));
    await mkdir(join(root, 'Movies'));
    const original = join(root, 'Incoming', 'film.mkv');
    await writeFile(original, 'm'.repeat(3 * 1024 * 1024 + 17));
    await watch(root);
    const discovered = await discoveredAt(root, original);
    const renamed = join(root, 'Incoming', 'Film (2021).mkv');
    await rename(original, renamed);
    const moved1 = await eventually(
      async () =>
        (await fileEventsIn(root)).find((e) => e.type === 'file.moved' && e.data.path === renamed),
      { timeoutMs: 20_000, what: 'the rename' },
    );
    assert.equal(moved1.fileId, discovered.fileId);
    assert.equal((moved1.data as { fromPath: string }).fromPath, original);
    const relocated = join(root, 'Movies', 'Film (2021).mkv');
    await rename(renamed, relocated);
    const moved2 = await eventually(
      async () =>
        (await fileEventsIn(root)).find(
          (e) => e.type === 'file.moved' && e.data.path === relocated,
        ),
      { timeoutMs: 20_000, what: 'the move' },
    );
    assert.equal(moved2.fileId, discovered.fileId);
    const types = (await fileEventsIn(root)).map((e) => e.type);
    assert.deepEqual(
      types,
      ['file.discovered', 'file.moved', 'file.moved'],
      'never re-discovered, never removed',
    );
  });

  it('announces file.removed once a known file is gone for the whole window', async () => {
    const root = await newLibrary('removal');
    const path = join(root, 'Gone.mkv');
    await writeFile(path, 'g'.repeat(50));
    await watch(root);
    const discovered = await discoveredAt(root, path);
    await rm(path);
    const removed = await eventually(
      async () => (await fileEventsIn(root)).find((e) => e.type === 'file.removed'),
      { timeoutMs: 20_000, what: 'the removal' },
    );
    assert.equal(removed.fileId, discovered.fileId);
    assert.equal(removed.data.path, path);
  });

  it('finds with a rescan a file the live watch never reported, and a rescan of an unchanged library publishes nothing', async () => {
    const root = await newLibrary('rescan');
    await writeFile(join(root, 'Seen.mkv'), 's');
    // Polling with a huge interval: the live watch reports nothing after its first scan.
    const service = await startWatcher(
      { bus: t.bus, publisher, log: silentLogger(), eventLog: { maxBytes: 64 * 1024 ** 2 } },
      {
        libraries: [{ root, usePolling: true }],
        stabilityWindowMs: WINDOW_MS,
        pollIntervalMs: 200,
        rescanIntervalMs: 1_500,
      },
    );
    running.push(service);
    await discoveredAt(root, join(root, 'Seen.mkv'));
    await writeFile(join(root, 'Missed.mkv'), 'missed');
    await discoveredAt(root, join(root, 'Missed.mkv'), 'the file the rescan found');
    const settled = (await t.bus.jsm.streams.info(EVENT_LOG_STREAM)).state.last_seq;
    await sleep(4_000); // two more rescans of an unchanged library
    const events = await fileEventsIn(root);
    assert.equal(events.length, 2, events.map((e) => e.type).join(', '));
    assert.ok((await t.bus.jsm.streams.info(EVENT_LOG_STREAM)).state.last_seq >= settled);
  });
});

describe('library configuration', () => {
  it('discovers only included, non-excluded files with a configured extension, and zero-byte ones too', async () => {
    const root = await newLibrary('configured');
    await mkdir(join(root, 'Movies', 'Extras'), { recursive: true });
    await mkdir(join(root, 'Downloads'), { recursive: true });
    await writeFile(join(root, 'Downloads', 'skip.mkv'), 'd');
    await writeFile(join(root, 'Movies', 'Extras', 'trailer.mkv'), 't');
    await writeFile(join(root, 'Movies', 'film.mp4'), 'not in the extension list');
    await writeFile(join(root, 'Movies', 'empty.mkv'), '');
    const service = await startWatcher(
      { bus: t.bus, publisher, log: silentLogger(), eventLog: { maxBytes: 64 * 1024 ** 2 } },
      {
        libraries: [
          { root, include: ['Movies/**'], exclude: ['**/Extras/**'], extensions: ['mkv'] },
        ],
        stabilityWindowMs: WINDOW_MS,
      },
    );
    running.push(service);
    await writeFile(join(root, 'Movies', 'marker.mkv'), 'last');
    await discoveredAt(root, join(root, 'Movies', 'marker.mkv'), 'the marker');
    const paths = (await discoveredIn(root)).map((e) => e.data.relativePath).sort();
    assert.deepEqual(paths, [join('Movies', 'empty.mkv'), join('Movies', 'marker.mkv')]);
    const empty = (await discoveredIn(root)).find((e) => e.data.relativePath.endsWith('empty.mkv'));
    assert.equal(empty?.data.size, 0);
  });
});
