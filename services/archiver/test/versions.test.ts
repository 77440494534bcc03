import assert from 'node:assert/strict';
import {
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readdir,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { wrap, type EventEnvelope, type EventType } from '@conform/contracts';
import { EVENT_LOG_STREAM, eventually, type TestBus, type EventPublisher } from '@conform/bus';
import { archiveVersionPath, REPLACEMENTS_DIR_NAME } from '../src/index.js';
import { bytesAt, makeSwap, startArchiverUnderTest, type ArchiverUnderTest } from './fixtures.js';

let t: TestBus;
let publisher: EventPublisher;
let under: ArchiverUnderTest;
let base: string;
let library: string;
let archive: string;
let mtimeLibrary: string;
let mtimeArchive: string;

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'conform-versions-'));
  library = join(base, 'library');
  archive = join(base, 'archive');
  mtimeLibrary = join(base, 'library-mtime');
  mtimeArchive = join(base, 'archive-mtime');
  await mkdir(library);
  await mkdir(mtimeLibrary);
  under = await startArchiverUnderTest('archiver-versions-test', [
    { root: library, archive },
    { root: mtimeLibrary, archive: mtimeArchive, keepMtime: true },
  ]);
  ({ t, publisher } = under);
});
after(async () => {
  await under.stop();
  await rm(base, { recursive: true, force: true });
});

/** The first event of one of `types` caused by `causationId`, once it is in the log. */
async function answerTo<T extends EventType>(
  causationId: string,
  types: readonly T[],
): Promise<EventEnvelope<T>> {
  return eventually(
    async () => {
      const info = await t.bus.jsm.streams.info(EVENT_LOG_STREAM);
      for (let seq = 1; seq <= info.state.last_seq; seq++) {
        const m = await t.bus.jsm.streams.getMessage(EVENT_LOG_STREAM, { seq }).catch(() => null);
        const event = m?.json<EventEnvelope>();
        if (event?.causationId === causationId && (types as readonly string[]).includes(event.type))
          return event as EventEnvelope<T>;
      }
      return null;
    },
    { timeoutMs: 20_000, what: `an answer to ${causationId}` },
  );
}

/** New content at the same path with its own verified output, as a re-conform sees it. */
async function conformWith(
  lib: string,
  arc: string,
  rel: string,
  original: Buffer,
  output: Buffer,
) {
  const f = await makeSwap({ library: lib, archive: arc, relativePath: rel });
  await writeFile(f.path, original);
  await writeFile(f.outputPath, output);
  const s = await stat(f.path);
  const event = wrap(
    {
      type: 'verify.passed',
      data: { ...f.event.data, source: { size: s.size, mtimeMs: s.mtimeMs } },
    },
    {
      fileId: f.event.fileId,
      producer: 'verifier@test',
      time: new Date(),
      discriminator: `${s.size}:${s.mtimeMs}`,
    },
  );
  return { ...f, event };
}

const bytes = (label: string, n = 4_000) => Buffer.from(`${label}\n`.repeat(n));

describe('archive versions', () => {
  it('a replaced path is conformed again: every original is kept, restore gives back the last', async () => {
    const rel = 'Again (2021)/Again.mkv';
    const rounds = [
      bytes('first original'),
      bytes('second original', 3_000),
      bytes('third', 5_000),
    ];
    const outputs = [bytes('out one', 100), bytes('out two', 120), bytes('out three', 90)];
    const archivePaths: string[] = [];
    let fileId = '';
    for (const [i, original] of rounds.entries()) {
      const f = await conformWith(library, archive, rel, original, outputs[i]!);
      fileId = f.event.fileId;
      await publisher.publish(f.event);
      const answer = await answerTo(f.event.id, ['file.replaced', 'replace.failed'] as const);
      assert.equal(answer.type, 'file.replaced', JSON.stringify(answer.data));
      if (answer.type !== 'file.replaced') return;
      assert.equal(answer.data.archivePath, archiveVersionPath(join(archive, rel), i + 1));
      archivePaths.push(answer.data.archivePath);
      assert.deepEqual(await bytesAt(f.path), outputs[i]);
    }
    // Nothing was overwritten: each version still holds its own original.
    for (const [i, p] of archivePaths.entries()) assert.deepEqual(await bytesAt(p), rounds[i]);
    assert.deepEqual((await readdir(dirname(join(archive, rel)))).sort(), [
      'Again.mkv',
      'Again.mkv.v2',
      'Again.mkv.v3',
    ]);

    const restore = wrap(
      {
        type: 'control.requested',
        data: { action: 'restore', path: join(library, rel), now: false, requestedBy: 'test' },
      },
      { fileId, producer: 'cli@test', time: new Date(), discriminator: `restore-${Date.now()}` },
    );
    await publisher.publish(restore);
    const restored = await answerTo(restore.id, ['file.restored', 'restore.failed'] as const);
    assert.equal(restored.type, 'file.restored', JSON.stringify(restored.data));
    assert.deepEqual(await bytesAt(join(library, rel)), rounds[2], 'the last archived original');
    assert.deepEqual(await bytesAt(archivePaths[0]!), rounds[0]);
    assert.deepEqual(await bytesAt(archivePaths[1]!), rounds[1]);
    if (restored.type !== 'file.restored') return;
    assert.equal(restored.data.replacementArchivePath, join(archive, REPLACEMENTS_DIR_NAME, rel));
    assert.deepEqual(await bytesAt(restored.data.replacementArchivePath), outputs[2]);
  });

  it('restoring a path a second time keeps the first restore’s replacement too', async () => {
    const rel = 'Twice/Twice.mkv';
    let fileId = '';
    const kept: string[] = [];
    for (const [i, label] of ['one', 'two'].entries()) {
      const f = await conformWith(
        library,
        archive,
        rel,
        bytes(`orig ${label}`),
        bytes(`new ${label}`, 50),
      );
      fileId = f.event.fileId;
      await publisher.publish(f.event);
      const replaced = await answerTo(f.event.id, ['file.replaced', 'replace.failed'] as const);
      assert.equal(replaced.type, 'file.replaced', JSON.stringify(replaced.data));
      const restore = wrap(
        {
          type: 'control.requested',
          data: { action: 'restore', path: f.path, now: false, requestedBy: `test-${i}` },
        },
        { fileId, producer: 'cli@test', time: new Date(), discriminator: `restore-${Date.now()}` },
      );
      await publisher.publish(restore);
      const restored = await answerTo(restore.id, ['file.restored', 'restore.failed'] as const);
      assert.equal(restored.type, 'file.restored', JSON.stringify(restored.data));
      if (restored.type === 'file.restored') kept.push(restored.data.replacementArchivePath);
      assert.deepEqual(await bytesAt(f.path), bytes(`orig ${label}`));
    }
    const baseKept = join(archive, REPLACEMENTS_DIR_NAME, rel);
    assert.deepEqual(kept, [baseKept, archiveVersionPath(baseKept, 2)]);
    assert.deepEqual(await bytesAt(kept[0]!), bytes('new one', 50));
    assert.deepEqual(await bytesAt(kept[1]!), bytes('new two', 50));
  });
});

describe('the replacement takes over the original’s attributes', () => {
  for (const mode of [0o600, 0o640]) {
    it(`mode ${mode.toString(8)}, owner and group 1234:1234 (mtime not kept by default)`, async () => {
      const rel = `Private ${mode.toString(8)}/Film.mkv`;
      const f = await makeSwap({ library, archive, relativePath: rel });
      await chown(f.path, 1234, 1234);
      await chmod(f.path, mode);
      await utimes(f.path, new Date('2020-02-02T00:00:00Z'), new Date('2020-02-02T00:00:00Z'));
      const before = await stat(f.path);
      const event = wrap(
        {
          type: 'verify.passed',
          data: { ...f.event.data, source: { size: before.size, mtimeMs: before.mtimeMs } },
        },
        { fileId: f.event.fileId, producer: 'verifier@test', time: new Date() },
      );
      await publisher.publish(event);
      const answer = await answerTo(event.id, ['file.replaced', 'replace.failed'] as const);
      assert.equal(answer.type, 'file.replaced', JSON.stringify(answer.data));
      const after = await stat(f.finalPath);
      assert.equal(after.mode & 0o7777, mode);
      assert.equal(after.uid, 1234);
      assert.equal(after.gid, 1234);
      assert.notEqual(after.ino, before.ino, 'the output replaced the original');
      assert.notEqual(
        after.mtimeMs,
        before.mtimeMs,
        'by default the replacement has its own mtime',
      );
    });
  }

  it('keeps the mtime too when the library asks for it (keepMtime)', async () => {
    const f = await makeSwap({
      library: mtimeLibrary,
      archive: mtimeArchive,
      relativePath: 'M/Film.mkv',
    });
    await chmod(f.path, 0o600);
    await utimes(f.path, new Date('2019-05-05T05:05:05Z'), new Date('2019-05-05T05:05:05Z'));
    const before = await stat(f.path);
    const event = wrap(
      {
        type: 'verify.passed',
        data: { ...f.event.data, source: { size: before.size, mtimeMs: before.mtimeMs } },
      },
      { fileId: f.event.fileId, producer: 'verifier@test', time: new Date() },
    );
    await publisher.publish(event);
    const answer = await answerTo(event.id, ['file.replaced', 'replace.failed'] as const);
    assert.equal(answer.type, 'file.replaced', JSON.stringify(answer.data));
    const after = await stat(f.finalPath);
    assert.equal(after.mode & 0o7777, 0o600);
    assert.equal(after.mtimeMs, before.mtimeMs);
  });
});
