import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { EventEnvelope } from '@conform/contracts';
import {
  EVENT_LOG_STREAM,
  EventPublisher,
  eventually,
  startTestBus,
  type RunningService,
  type TestBus,
} from '@conform/bus';
import { startWatcher } from '../src/index.js';
import {
  availableInotifyWatches,
  inotifyWatchesInUse,
  watchesLeft,
} from '../src/inotify-budget.js';

let t: TestBus;
let publisher: EventPublisher;
let base: string;
const running: RunningService[] = [];

before(async () => {
  t = await startTestBus('watch-budget-test');
  publisher = new EventPublisher(t.bus.js, { producer: 'watcher@test' });
  base = await mkdtemp(join(tmpdir(), 'conform-watch-budget-'));
});
after(async () => {
  await Promise.all(running.map((s) => s.stop()));
  await t.cleanup();
  await rm(base, { recursive: true, force: true });
});

/** A logger that keeps what it writes, to read the warnings and the start line back. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { log, lines };
}

/** A tree of `shows` folders with one season folder each, one episode per season. */
async function tree(name: string, shows: number): Promise<string> {
  const root = join(base, name);
  for (let s = 0; s < shows; s++) {
    const season = join(root, `Show ${s}`, 'Season 01');
    await mkdir(season, { recursive: true });
    await writeFile(join(season, `Show ${s} - S01E01.mkv`), `episode ${s}`);
  }
  return root;
}

async function discoveredPaths(library: string): Promise<string[]> {
  const info = await t.bus.jsm.streams.info(EVENT_LOG_STREAM);
  const paths: string[] = [];
  for (let seq = 1; seq <= info.state.last_seq; seq++) {
    const m = await t.bus.jsm.streams.getMessage(EVENT_LOG_STREAM, { seq }).catch(() => null);
    const e = m?.json<EventEnvelope<'file.discovered'>>();
    if (e?.type === 'file.discovered' && e.data.library === library) paths.push(e.data.path);
  }
  return paths;
}

const discovered = (library: string, path: string, what: string) =>
  eventually(async () => (await discoveredPaths(library)).includes(path) || null, {
    timeoutMs: 20_000,
    what,
  });

async function watch(root: string, log: pino.Logger, opts: { inotifyWatchBudget?: number } = {}) {
  const service = await startWatcher(
    { bus: t.bus, publisher, log, eventLog: { maxBytes: 64 * 1024 ** 2 } },
    { libraries: [{ root }], stabilityWindowMs: 500, rescanIntervalMs: 0, ...opts },
  );
  running.push(service);
  return service;
}

describe('inotify watch budget', () => {
  it('watches one folder per watch and finds a file in a folder made after the start', async () => {
    const root = await tree('inotify', 3);
    const { log, lines } = capturingLogger();
    await watch(root, log, { inotifyWatchBudget: 100 });
    const started = lines.find((l) => l.msg === 'watcher started') as {
      libraries: { polling: boolean; watches: number }[];
    };
    // The root, 3 shows and 3 seasons.
    assert.deepEqual(started.libraries, [{ root, polling: false, watches: 7 }]);
    await discovered(root, join(root, 'Show 0', 'Season 01', 'Show 0 - S01E01.mkv'), 'a first');
    const late = join(root, 'Show 9', 'Season 02', 'late.mkv');
    await mkdir(join(root, 'Show 9', 'Season 02'), { recursive: true });
    await writeFile(late, 'late');
    await discovered(root, late, 'the file in the new nested folder (no rescan: the watch)');
  });

  it('polls a library with more folders than the watches left, saying so, and still discovers a new file', async () => {
    const root = await tree('polled', 4); // 9 folders
    const { log, lines } = capturingLogger();
    await watch(root, log, { inotifyWatchBudget: 5 });
    const warning = lines.find((l) => /polling it instead/.test(String(l.msg)));
    assert.ok(warning, `no polling warning in ${JSON.stringify(lines.map((l) => l.msg))}`);
    assert.equal(warning.library, root);
    assert.match(String(warning.msg), /more folders than the \d+ inotify watches left/);
    const started = lines.find((l) => l.msg === 'watcher started') as {
      libraries: { polling: boolean; watches: number }[];
    };
    assert.deepEqual(started.libraries, [{ root, polling: true, watches: 0 }]);
    for (let s = 0; s < 4; s++) {
      const path = join(root, `Show ${s}`, 'Season 01', `Show ${s} - S01E01.mkv`);
      await discovered(root, path, `existing episode ${s} (polled)`);
    }
    const late = join(root, 'Show 2', 'Season 01', 'Show 2 - S01E02.mkv');
    await writeFile(late, 'new episode');
    await discovered(root, late, 'the new file, found by polling (rescan is off)');
  });

  it('shares the budget between libraries: the one that no longer fits is polled', async () => {
    const first = await tree('shared-a', 1); // 3 folders
    const second = await tree('shared-b', 1); // 3 more
    const { log, lines } = capturingLogger();
    const service = await startWatcher(
      { bus: t.bus, publisher, log, eventLog: { maxBytes: 64 * 1024 ** 2 } },
      {
        libraries: [{ root: first }, { root: second }],
        stabilityWindowMs: 500,
        rescanIntervalMs: 0,
        inotifyWatchBudget: 4,
      },
    );
    running.push(service);
    const started = lines.find((l) => l.msg === 'watcher started') as {
      libraries: { root: string; polling: boolean; watches: number }[];
    };
    assert.deepEqual(started.libraries, [
      { root: first, polling: false, watches: 3 },
      { root: second, polling: true, watches: 0 },
    ]);
  });
});

describe('stable on first sight', () => {
  it('discovers a file last modified before the window without waiting it; a fresh one waits', async () => {
    const root = await tree('first-sight', 0);
    await mkdir(root, { recursive: true });
    const old = join(root, 'Old.mkv');
    const fresh = join(root, 'Fresh.mkv');
    await writeFile(old, 'old');
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(old, hourAgo, hourAgo);
    await writeFile(fresh, 'fresh');
    const { log } = capturingLogger();
    // A window far longer than the wait below: only the mtime rule can discover Old.mkv in time.
    await startWatcher(
      { bus: t.bus, publisher, log, eventLog: { maxBytes: 64 * 1024 ** 2 } },
      { libraries: [{ root }], stabilityWindowMs: 60_000, rescanIntervalMs: 0 },
    ).then((s) => running.push(s));
    await discovered(root, old, 'the old file, well before the 60 s window');
    // Both were statted in the same step: the fresh one is settling, not announced.
    assert.deepEqual(await discoveredPaths(root), [old]);
  });
});

describe('watches in use (from a /proc tree)', () => {
  it('counts the watches of inotify descriptors and subtracts them and a reserve from the limit', async () => {
    const proc = join(base, 'proc');
    await mkdir(join(proc, 'sys', 'fs', 'inotify'), { recursive: true });
    await writeFile(join(proc, 'sys', 'fs', 'inotify', 'max_user_watches'), '8192\n');
    const fdinfo = (n: number) =>
      ['pos:\t0', 'flags:\t00', ...Array.from({ length: n }, (_, i) => `inotify wd:${i} ino:1`)]
        .join('\n')
        .concat('\n');
    for (const [pid, fds] of [
      ['100', { '3': 'anon_inode:inotify', '4': '/dev/null', '7': 'anon_inode:inotify' }],
      ['200', { '5': 'anon_inode:inotify' }],
    ] as const) {
      await mkdir(join(proc, pid, 'fd'), { recursive: true });
      await mkdir(join(proc, pid, 'fdinfo'), { recursive: true });
      for (const [fd, target] of Object.entries(fds)) {
        await symlink(target, join(proc, pid, 'fd', fd));
        await writeFile(join(proc, pid, 'fdinfo', fd), fdinfo(target === '/dev/null' ? 0 : 10));
      }
    }
    assert.equal(await inotifyWatchesInUse(proc), 30);
    assert.equal(await availableInotifyWatches(proc), 8192 - 30 - 819);
    assert.equal(await availableInotifyWatches(join(base, 'no-proc')), Infinity);
  });

  it('leaves a tenth of the limit, at most 1,024, and never goes below zero', () => {
    assert.equal(watchesLeft(192_536, 1_000), 192_536 - 1_000 - 1_024);
    assert.equal(watchesLeft(8_192, 0), 8_192 - 819);
    assert.equal(watchesLeft(100, 200), 0);
  });
});
