import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import {
  fileIdFor,
  isValidFileId,
  type DomainEvent,
  type EventEnvelope,
  type WrapOptions,
} from '@conform/contracts';
import {
  EVENT_LOG_STREAM,
  EventPublisher,
  eventually,
  silentLogger,
  startTestBus,
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
  publisher = new EventPublisher(t.bus.js, { producer: 'watcher@test' });
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
    });
    assert.equal(event.fileId, fileIdFor(root, join('Film (2020)', 'Film.mkv')));
    assert.equal(event.causationId, null);
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

  it('discovers a file again when it is replaced by different content', async () => {
    const root = await newLibrary('replaced');
    const path = join(root, 'Film.mkv');
    await writeFile(path, 'original bytes, rather long');
    await watch(root);
    await discoveredAt(root, path, 'the original');
    await mkdir(join(root, '.conform-work'));
    await writeFile(join(root, '.conform-work', 'out.mkv'), 'smaller');
    await rename(join(root, '.conform-work', 'out.mkv'), path);
    const again = await eventually(
      async () => (await discoveredIn(root)).find((e) => e.data.path === path && e.data.size === 7),
      { timeoutMs: 20_000, what: 'the re-discovery' },
    );
    const events = (await discoveredIn(root)).filter((e) => e.data.path === path);
    assert.equal(events.length, 2);
    assert.equal(again.fileId, events[0]?.fileId, 'same file, same id');
    assert.notEqual(again.id, events[0]?.id, 'a new occurrence, not a duplicate');
  });

  it('retries a publish the event log refused on a later tick', async () => {
    const root = await newLibrary('retry');
    let refusals = 0;
    class FlakyPublisher extends EventPublisher {
      override async emit<E extends DomainEvent>(
        event: E,
        opts: Omit<WrapOptions, 'producer' | 'time'>,
      ): Promise<EventEnvelope<E['type']>> {
        if (refusals < 2) {
          refusals++;
          throw new Error('simulated: the event log is unreachable');
        }
        return super.emit(event, opts);
      }
    }
    const path = join(root, 'Film.webm');
    await writeFile(path, 'webm');
    await watch(root, WINDOW_MS, new FlakyPublisher(t.bus.js, { producer: 'watcher@test' }));
    await discoveredAt(root, path);
    assert.equal(refusals, 2);
    assert.equal((await discoveredIn(root)).length, 1);
  });
});
