import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EventEnvelope } from '@conform/contracts';
import {
  EVENT_LOG_STREAM,
  eventually,
  type MessageOutcome,
  type TestBus,
  type EventPublisher,
} from '@conform/bus';
import { PARTIAL_SUFFIX } from '../src/index.js';
import {
  bytesAt,
  makeSwap,
  ORIGINAL,
  OUTPUT,
  startArchiverUnderTest,
  type ArchiverUnderTest,
} from './fixtures.js';

let t: TestBus;
let publisher: EventPublisher;
let under: ArchiverUnderTest;
let base: string;
let shmBase: string | null = null;
let library: string;
let archive: string;
let remoteLibrary: string;
let remoteArchive: string;
const outcomes: MessageOutcome[] = [];

/** A directory on another filesystem than the temp dir, if this machine has one. */
async function otherFilesystemDir(): Promise<string | null> {
  if (!existsSync('/dev/shm')) return null;
  const dir = await mkdtemp('/dev/shm/conform-archive-');
  const [a, b] = await Promise.all([stat(dir), stat(tmpdir())]);
  if (a.dev !== b.dev) return dir;
  await rm(dir, { recursive: true, force: true });
  return null;
}

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'conform-archiver-'));
  shmBase = await otherFilesystemDir();
  library = join(base, 'library');
  archive = join(base, 'archive');
  remoteLibrary = join(base, 'library2');
  remoteArchive = join(shmBase ?? base, 'archive2');
  await mkdir(library);
  await mkdir(remoteLibrary);
  under = await startArchiverUnderTest(
    'archiver-test',
    [
      { root: library, archive },
      { root: remoteLibrary, archive: remoteArchive },
    ],
    (outcome) => outcomes.push(outcome),
  );
  ({ t, publisher } = under);
});
after(async () => {
  await under.stop();
  await rm(base, { recursive: true, force: true });
  if (shmBase) await rm(shmBase, { recursive: true, force: true });
});

type Result = EventEnvelope<'file.replaced'> | EventEnvelope<'replace.failed'>;

/** The archiver's answers to one event, in stream order. */
async function answersTo(causationId: string): Promise<Result[]> {
  const info = await t.bus.jsm.streams.info(EVENT_LOG_STREAM);
  const found: Result[] = [];
  for (let seq = 1; seq <= info.state.last_seq; seq++) {
    const m = await t.bus.jsm.streams.getMessage(EVENT_LOG_STREAM, { seq }).catch(() => null);
    const event = m?.json<EventEnvelope>();
    if (
      event?.causationId === causationId &&
      (event.type === 'file.replaced' || event.type === 'replace.failed')
    ) {
      found.push(event);
    }
  }
  return found;
}

async function answerTo(event: EventEnvelope): Promise<Result> {
  return eventually(async () => (await answersTo(event.id))[0], {
    timeoutMs: 20_000,
    what: `the archiver's answer to ${event.data && 'path' in event.data ? event.data.path : event.id}`,
  });
}

describe('archiver on the bus', () => {
  it('swaps the output in and keeps the original byte-identical in the mirrored archive', async () => {
    const f = await makeSwap({ library, archive, relativePath: 'Film (2020)/Film.mkv' });
    await publisher.publish(f.event);
    const answer = await answerTo(f.event);
    assert.equal(answer.type, 'file.replaced');
    assert.deepEqual(answer.data, {
      library,
      path: f.path,
      newPath: f.path,
      archivePath: join(archive, 'Film (2020)', 'Film.mkv'),
      originalSize: ORIGINAL.length,
      newSize: OUTPUT.length,
      bytesSaved: ORIGINAL.length - OUTPUT.length,
    });
    assert.equal(answer.fileId, f.event.fileId);
    assert.equal(answer.correlationId, f.event.correlationId);
    assert.deepEqual(await bytesAt(f.path), OUTPUT);
    assert.deepEqual(await bytesAt(answer.data.archivePath), ORIGINAL);
    assert.equal(await bytesAt(f.outputPath), null);
  });

  it('handles a redelivered event without error and with the same answer', async () => {
    const f = await makeSwap({ library, archive, relativePath: 'again/Film.mkv' });
    await publisher.publish(f.event);
    const first = await answerTo(f.event);
    // A copy under another message id, so JetStream delivers it instead of deduplicating it.
    const redelivery = { ...f.event, id: `${f.event.id}-redelivered` };
    await publisher.publish(redelivery);
    const second = await answerTo(redelivery);
    assert.equal(first.type, 'file.replaced');
    assert.deepEqual(second.data, first.data);
    assert.deepEqual(await bytesAt(f.path), OUTPUT);
    assert.deepEqual(await bytesAt(f.archivePath), ORIGINAL);
    assert.deepEqual(
      outcomes.filter((o) => o.kind !== 'acked'),
      [],
      'no retries or dead letters',
    );
  });

  it('discards the output of a stale plan and leaves the changed original alone', async () => {
    const f = await makeSwap({ library, archive, relativePath: 'stale/Film.mkv' });
    await appendFile(f.path, 'edited after planning');
    const edited = await bytesAt(f.path);
    await publisher.publish(f.event);
    const answer = await answerTo(f.event);
    assert.equal(answer.type, 'replace.failed');
    assert.equal(answer.type === 'replace.failed' && answer.data.stale, true);
    assert.match(answer.type === 'replace.failed' ? answer.data.reason : '', /changed since/);
    assert.deepEqual(await bytesAt(f.path), edited);
    assert.equal(await bytesAt(f.outputPath), null);
    assert.equal(await bytesAt(f.archivePath), null);
  });

  it('changes the extension to the target container (.avi original, mkv target)', async () => {
    const f = await makeSwap({ library, archive, relativePath: 'old/Film.avi', container: 'mkv' });
    await publisher.publish(f.event);
    const answer = await answerTo(f.event);
    assert.equal(answer.type, 'file.replaced');
    assert.equal(
      answer.type === 'file.replaced' && answer.data.newPath,
      join(library, 'old', 'Film.mkv'),
    );
    assert.deepEqual(await bytesAt(join(library, 'old', 'Film.mkv')), OUTPUT);
    assert.equal(await bytesAt(f.path), null);
    assert.deepEqual(await bytesAt(join(archive, 'old', 'Film.avi')), ORIGINAL);
  });

  it('keeps a byte-identical copy when the archive is on another filesystem', async () => {
    assert.ok(shmBase, 'this machine has /dev/shm on another filesystem than the temp dir');
    const f = await makeSwap({
      library: remoteLibrary,
      archive: remoteArchive,
      relativePath: 'Show/S01/e1.mkv',
    });
    await publisher.publish(f.event);
    const answer = await answerTo(f.event);
    assert.equal(answer.type, 'file.replaced', JSON.stringify(answer.data));
    const [archived, library2] = await Promise.all([stat(f.archivePath), stat(remoteLibrary)]);
    assert.notEqual(archived.dev, library2.dev, 'really another filesystem');
    assert.deepEqual(await bytesAt(f.archivePath), ORIGINAL);
    assert.equal(await bytesAt(f.archivePath + PARTIAL_SUFFIX), null);
    assert.deepEqual(await bytesAt(f.path), OUTPUT);
  });

  it('refuses a library that is not configured and touches nothing', async () => {
    const stray = join(base, 'not-a-library');
    const f = await makeSwap({
      library: stray,
      archive: join(base, 'stray-archive'),
      relativePath: 'Film.mkv',
    });
    await publisher.publish(f.event);
    const answer = await answerTo(f.event);
    assert.deepEqual(answer.data, {
      library: stray,
      path: f.path,
      reason: `library ${stray} is not a configured library`,
      stale: false,
    });
    assert.deepEqual(await bytesAt(f.path), ORIGINAL);
    assert.deepEqual(await bytesAt(f.outputPath), OUTPUT);
    assert.equal(existsSync(join(base, 'stray-archive')), false);
  });

  it('refuses a path outside its library', async () => {
    const f = await makeSwap({ library, archive, relativePath: 'inside/Film.mkv' });
    const outsidePath = join(base, 'outside.mkv');
    const event = {
      ...f.event,
      id: `${f.event.id}-outside`,
      data: { ...f.event.data, path: outsidePath },
    };
    await publisher.publish(event);
    const answer = await answerTo(event);
    assert.equal(answer.type, 'replace.failed');
    assert.match(answer.type === 'replace.failed' ? answer.data.reason : '', /outside library/);
    assert.deepEqual(await bytesAt(f.outputPath), OUTPUT);
  });
});

describe('restore on the bus', () => {
  it('control.requested restore puts the original back and answers file.restored', async () => {
    const f = await makeSwap({ library, archive, relativePath: 'restore-me/Film.mkv' });
    await publisher.publish(f.event);
    assert.equal((await answerTo(f.event)).type, 'file.replaced');
    const request = await publisher.emit(
      {
        type: 'control.requested',
        data: { action: 'restore', path: f.path, now: false, requestedBy: 'test@host' },
      },
      { fileId: f.event.fileId, discriminator: 'r1' },
    );
    const restored = await eventually(
      async () => {
        const m = await t.bus.jsm.streams
          .getMessage(EVENT_LOG_STREAM, {
            last_by_subj: `conform.evt.file.restored.${f.event.fileId}`,
          })
          .catch(() => null);
        return m?.json<EventEnvelope<'file.restored'>>() ?? null;
      },
      { what: 'file.restored' },
    );
    assert.equal(restored.causationId, request.id);
    assert.equal(restored.data.path, f.path);
    assert.deepEqual(await bytesAt(f.path), ORIGINAL);
    assert.deepEqual(await bytesAt(restored.data.replacementArchivePath), OUTPUT);
  });

  it('a restore of a file never replaced answers restore.failed with the reason', async () => {
    const path = join(library, 'never', 'Replaced.mkv');
    await publisher.emit(
      {
        type: 'control.requested',
        data: { action: 'restore', path, now: false, requestedBy: 'test@host' },
      },
      { fileId: 'fnever', discriminator: 'r1' },
    );
    const failed = await eventually(
      async () => {
        const m = await t.bus.jsm.streams
          .getMessage(EVENT_LOG_STREAM, { last_by_subj: 'conform.evt.restore.failed.fnever' })
          .catch(() => null);
        return m?.json<EventEnvelope<'restore.failed'>>() ?? null;
      },
      { what: 'restore.failed' },
    );
    assert.match(failed.data.reason, /no replacement .* is recorded/);
  });
});
