import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
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
import { cleanLeftovers } from '../src/index.js';
import {
  bytesAt,
  makeSwap,
  ORIGINAL,
  OUTPUT,
  startArchiverUnderTest,
  type ArchiverUnderTest,
} from './fixtures.js';
import { makeReadOnly, mountTmpfs } from './mounts.js';

let t: TestBus;
let publisher: EventPublisher;
let under: ArchiverUnderTest;
let base: string;
const cleanups: (() => void)[] = [];
const outcomes: MessageOutcome[] = [];
/** The immutable original's swap, left failed for the clean test. */
let locked: Awaited<ReturnType<typeof makeSwap>> | null = null;
const lib = (name: string) => ({
  root: join(base, name, 'library'),
  archive: join(base, name, 'archive'),
});

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'conform-permanent-'));
  for (const name of ['full', 'immutable', 'ro']) await mkdir(lib(name).root, { recursive: true });
  cleanups.push(await mountTmpfs(lib('full').archive, '16k'));
  await mkdir(lib('ro').archive);
  cleanups.push(await makeReadOnly(lib('ro').archive));
  under = await startArchiverUnderTest(
    'archiver-permanent-test',
    [lib('full'), lib('immutable'), lib('ro')],
    (outcome) => outcomes.push(outcome),
  );
  ({ t, publisher } = under);
});
after(async () => {
  await under.stop();
  for (const undo of cleanups.reverse()) undo();
  await rm(base, { recursive: true, force: true });
});

async function answerTo(event: EventEnvelope): Promise<EventEnvelope> {
  return eventually(
    async () => {
      const info = await t.bus.jsm.streams.info(EVENT_LOG_STREAM);
      for (let seq = 1; seq <= info.state.last_seq; seq++) {
        const m = await t.bus.jsm.streams.getMessage(EVENT_LOG_STREAM, { seq }).catch(() => null);
        const e = m?.json<EventEnvelope>();
        if (e?.causationId === event.id && e.type !== 'message.deadlettered') return e;
        if (e?.type === 'message.deadlettered' && e.causationId === event.id) return e;
      }
      return null;
    },
    { timeoutMs: 20_000, what: `the archiver's answer to ${event.id}` },
  );
}

/** The swap is answered once, with the reason, after a single delivery: no blind retries. */
async function assertFailedOnce(
  event: EventEnvelope,
  reason: RegExp,
): Promise<EventEnvelope<'replace.failed'>> {
  const answer = await answerTo(event);
  assert.equal(answer.type, 'replace.failed', JSON.stringify(answer.data));
  const failed = answer as EventEnvelope<'replace.failed'>;
  assert.equal(failed.data.permanent, true);
  assert.equal(failed.data.stale, false);
  assert.match(failed.data.reason, reason);
  await eventually(() => outcomes.some((o) => o.kind === 'acked' && o.type === 'verify.passed'), {
    what: 'the verify.passed acked',
  });
  assert.deepEqual(
    outcomes.filter((o) => o.kind === 'retried' || o.kind === 'dead-lettered'),
    [],
    'a permanent error is not retried',
  );
  outcomes.length = 0;
  return failed;
}

describe('permanent filesystem errors end the swap at once, with the reason', () => {
  it('ENOSPC on a full archive → replace.failed, original and output untouched', async () => {
    const f = await makeSwap({
      library: lib('full').root,
      archive: lib('full').archive,
      relativePath: 'Full/Film.mkv',
    });
    await publisher.publish(f.event);
    const failed = await assertFailedOnce(f.event, /no space left on the device.*\(ENOSPC\)/);
    assert.equal(failed.data.archivePath, undefined, 'nothing was archived');
    assert.deepEqual(await bytesAt(f.path), ORIGINAL);
    assert.deepEqual(await bytesAt(f.outputPath), OUTPUT);
  });

  it('EROFS on a read-only archive → replace.failed naming it, not a retried ENOENT', async () => {
    const f = await makeSwap({
      library: lib('ro').root,
      archive: lib('ro').archive,
      relativePath: 'Deep/Er/Film.mkv',
    });
    await publisher.publish(f.event);
    await assertFailedOnce(f.event, /read-only; remount it read-write.*\(EROFS\)/);
    assert.deepEqual(await bytesAt(f.path), ORIGINAL);
    assert.deepEqual(await bytesAt(f.outputPath), OUTPUT);
  });

  it('EPERM on an immutable original (chattr +i) → replace.failed naming the archive copy', async () => {
    const f = await makeSwap({
      library: lib('immutable').root,
      archive: lib('immutable').archive,
      relativePath: 'Locked/Film.mkv',
    });
    locked = f;
    execFileSync('chattr', ['+i', f.path]);
    cleanups.push(() => execFileSync('chattr', ['-i', f.path]));
    await publisher.publish(f.event);
    const failed = await assertFailedOnce(f.event, /operation not permitted.*\(EPERM\)/);
    assert.deepEqual(await bytesAt(f.path), ORIGINAL);
    assert.deepEqual(await bytesAt(f.outputPath), OUTPUT);
    assert.equal(failed.data.archivePath, f.archivePath);
    assert.deepEqual(await bytesAt(f.archivePath), ORIGINAL, 'the archive copy is whole');
  });

  it('conform clean: after workRetentionHours the failed swap’s output and identical archive copy go, the original stays', async () => {
    const libs = [{ ...lib('immutable'), workRetentionHours: 2 }];
    const f = locked!;
    const soon = await cleanLeftovers(t.bus, libs, { dryRun: true, now: new Date() });
    assert.deepEqual(soon, [], 'nothing is due before the retention time');
    const later = new Date(Date.now() + 3 * 3_600_000);
    const dry = await cleanLeftovers(t.bus, libs, { dryRun: true, now: later });
    assert.deepEqual(dry.map((r) => [r.action.kind, r.action.path, r.done]).sort(), [
      ['remove-archive-copy', f.archivePath, false],
      ['remove-work-file', f.outputPath, false],
    ]);
    assert.deepEqual(await bytesAt(f.archivePath), ORIGINAL, 'a dry run removes nothing');
    const done = await cleanLeftovers(t.bus, libs, { dryRun: false, now: later });
    assert.ok(
      done.every((r) => r.done),
      JSON.stringify(done),
    );
    assert.equal(await bytesAt(f.archivePath), null);
    assert.equal(await bytesAt(f.outputPath), null);
    assert.deepEqual(await bytesAt(f.path), ORIGINAL, 'the original is untouched');
  });
});
