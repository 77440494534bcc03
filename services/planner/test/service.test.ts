import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  fileIdFor,
  sampleEvent,
  subjectFor,
  type EventEnvelope,
  type EventType,
  type FileDiscoveredData,
} from '@conform/contracts';
import {
  EVENT_LOG_STREAM,
  EventPublisher,
  lastEventOf,
  eventually,
  silentLogger,
  startTestBus,
  type MessageOutcome,
  type RunningService,
  type TestBus,
} from '@conform/bus';
import { generateClip } from '@conform/media';
import {
  DEFAULT_POLICY,
  policyLookup,
  policyVersion,
  replanChangedFiles,
  startPlanner,
  type Policy,
} from '../src/index.js';

let t: TestBus;
let publisher: EventPublisher;
let planner: RunningService;
let library: string;
const outcomes: MessageOutcome[] = [];

before(async () => {
  t = await startTestBus('planner-test');
  publisher = new EventPublisher(t.bus.js, { producer: 'test@host' });
  library = await mkdtemp(join(tmpdir(), 'conform-planner-lib-'));
  planner = await startPlanner(
    {
      bus: t.bus,
      publisher,
      log: silentLogger(),
      eventLog: { maxBytes: 64 * 1024 * 1024 },
      onOutcome: (_service, o) => outcomes.push(o),
    },
    { slots: 2 },
  );
});
after(async () => {
  await planner.stop();
  await t.cleanup();
  await rm(library, { recursive: true, force: true });
});

async function discover(
  relativePath: string,
  stamp?: { size: number; mtimeMs: number },
): Promise<string> {
  const path = join(library, relativePath);
  const s = stamp ?? (await stat(path));
  const fileId = fileIdFor(library, relative(library, path));
  const data: FileDiscoveredData = {
    library,
    path,
    relativePath,
    size: s.size,
    mtimeMs: s.mtimeMs,
  };
  await publisher.emit(
    { type: 'file.discovered', data },
    { fileId, discriminator: `${s.size}:${s.mtimeMs}` },
  );
  return fileId;
}

async function countOf(type: EventType, fileId: string): Promise<number> {
  const subject = subjectFor(type, fileId);
  const info = await t.bus.jsm.streams.info(EVENT_LOG_STREAM, { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

async function lastEvent<T extends EventType>(
  type: T,
  fileId: string,
): Promise<EventEnvelope<T> | null> {
  return (await lastEventOf(t.bus, type, fileId))?.event ?? null;
}

describe('planner on the real bus', () => {
  it('skips a file whose last encode under this policy failed the size guard', async () => {
    await mkdir(join(library, 'Guarded'), { recursive: true });
    await generateClip({ path: join(library, 'Guarded/g.mkv'), durationSec: 1 });
    const fileId = fileIdFor(library, 'Guarded/g.mkv');
    const failed = sampleEvent('verify.failed', fileId);
    await publisher.publish({
      ...failed,
      data: {
        ...failed.data,
        policyVersion: policyVersion(DEFAULT_POLICY),
        checks: [{ name: 'size-guard', passed: false, measured: 1.4, limit: 1 }],
      },
    });
    await discover('Guarded/g.mkv');
    const planned = await eventually(() => lastEvent('file.planned', fileId), {
      what: 'file.planned after a size-guard failure',
    });
    assert.equal(planned.data.decision, 'skip');
    assert.match(planned.data.reasons.join(' '), /saved too little and the original was kept/);
  });

  it('plans new content at a known path (file.changed) like a discovery', async () => {
    await mkdir(join(library, 'Changed'), { recursive: true });
    await generateClip({ path: join(library, 'Changed/c.mkv'), durationSec: 1 });
    const s = await stat(join(library, 'Changed/c.mkv'));
    const fileId = fileIdFor(library, 'Changed/c.mkv');
    await publisher.emit(
      {
        type: 'file.changed',
        data: {
          library,
          path: join(library, 'Changed/c.mkv'),
          relativePath: 'Changed/c.mkv',
          size: s.size,
          mtimeMs: s.mtimeMs,
        },
      },
      { fileId, discriminator: `${s.size}:${s.mtimeMs}` },
    );
    const planned = await eventually(() => lastEvent('file.planned', fileId), {
      what: 'file.planned after file.changed',
    });
    assert.equal(planned.data.decision, 'encode');
    assert.equal(planned.data.path, join(library, 'Changed/c.mkv'));
  });

  it('plans an h264 mp4 for hevc mp4 after publishing what it probed', async () => {
    await mkdir(join(library, 'Movies'), { recursive: true });
    await generateClip({ path: join(library, 'Movies/a.mp4'), durationSec: 1, audioTracks: 2 });
    const fileId = await discover('Movies/a.mp4');
    const planned = await eventually(() => lastEvent('file.planned', fileId), {
      what: 'file.planned',
    });
    assert.equal(planned.data.decision, 'encode');
    assert.equal(planned.data.target?.videoCodec, 'hevc');
    assert.equal(planned.data.target?.container, 'mp4');
    assert.deepEqual(
      planned.data.target?.streams?.map((s) => [s.kind, s.action]),
      [
        ['audio', 'copy'],
        ['audio', 'copy'],
      ],
    );
    assert.equal(planned.data.policyVersion, policyVersion(DEFAULT_POLICY));
    assert.ok(planned.data.estimatedOutputBytes !== null && planned.data.estimatedOutputBytes > 0);
    const probed = await lastEvent('file.probed', fileId);
    assert.equal(probed?.data.media.audioStreams, 2);
    assert.equal(probed?.data.media.video?.codec, 'h264');
    assert.equal(planned.causationId, probed?.causationId, 'both caused by the discovery');
  });

  it('marks an hevc mkv compliant', async () => {
    await generateClip({ path: join(library, 'b.mkv'), durationSec: 1, videoCodec: 'hevc' });
    const fileId = await discover('b.mkv');
    const planned = await eventually(() => lastEvent('file.planned', fileId), {
      what: 'file.planned',
    });
    assert.equal(planned.data.decision, 'compliant');
    assert.equal(planned.data.target, null);
  });

  it('reports a corrupt file as file.unreadable with the reason, and keeps going', async () => {
    await writeFile(join(library, 'corrupt.mp4'), randomBytes(32 * 1024));
    const fileId = await discover('corrupt.mp4');
    const unreadable = await eventually(() => lastEvent('file.unreadable', fileId), {
      what: 'file.unreadable',
    });
    assert.match(unreadable.data.reason, /Invalid data/);
    assert.equal(await lastEvent('file.planned', fileId), null);
    assert.ok(!outcomes.some((o) => o.kind === 'dead-lettered' || o.kind === 'retried'));
  });

  it('publishes nothing for a file that changed since it was discovered', async () => {
    await generateClip({ path: join(library, 'changed.mkv'), durationSec: 1 });
    const real = await stat(join(library, 'changed.mkv'));
    const acksBefore = outcomes.filter((o) => o.kind === 'acked').length;
    const fileId = await discover('changed.mkv', { size: real.size + 1, mtimeMs: real.mtimeMs });
    await eventually(() => outcomes.filter((o) => o.kind === 'acked').length > acksBefore, {
      what: 'the stale discovery to be handled',
    });
    assert.equal(await lastEvent('file.probed', fileId), null);
    assert.equal(await lastEvent('file.planned', fileId), null);
    assert.equal(await lastEvent('file.unreadable', fileId), null);
  });

  it('publishes nothing for a file deleted before it was planned', async () => {
    const acksBefore = outcomes.filter((o) => o.kind === 'acked').length;
    const fileId = await discover('deleted.mkv', { size: 10, mtimeMs: 1_700_000_000_000 });
    await eventually(() => outcomes.filter((o) => o.kind === 'acked').length > acksBefore, {
      what: 'the discovery to be handled',
    });
    assert.equal(await lastEvent('file.unreadable', fileId), null);
    assert.equal(await lastEvent('file.planned', fileId), null);
  });

  it('on start with a changed policy, re-plans exactly the files whose decision changes', async () => {
    await generateClip({ path: join(library, 'c.mp4'), durationSec: 1 });
    await generateClip({ path: join(library, 'd.mkv'), durationSec: 1, videoCodec: 'hevc' });
    const h264 = await discover('c.mp4');
    const hevc = await discover('d.mkv');
    for (const id of [h264, hevc]) {
      await eventually(() => lastEvent('file.planned', id), { what: 'the first plans' });
    }
    const av1: Policy = { ...DEFAULT_POLICY, video: { ...DEFAULT_POLICY.video, codec: 'av1' } };
    const ctx = { bus: t.bus, publisher, log: silentLogger() };
    const second = await startPlanner(ctx, { policy: av1, slots: 1 });
    await second.stop();

    const replanned = await lastEvent('file.planned', h264);
    assert.equal(replanned?.data.target?.videoCodec, 'av1');
    assert.equal(replanned?.data.policyVersion, policyVersion(av1));
    assert.equal(replanned?.data.previousPolicyVersion, policyVersion(DEFAULT_POLICY));
    assert.equal(await countOf('file.planned', h264), 2);
    // hevc is compliant under both policies: its plan by the old version stands.
    assert.equal(await countOf('file.planned', hevc), 1);
    assert.equal(
      (await lastEvent('file.planned', hevc))?.data.policyVersion,
      policyVersion(DEFAULT_POLICY),
    );

    const again = await replanChangedFiles(ctx, policyLookup({ policy: av1 }));
    assert.equal(again.replanned, 0, 'a second pass finds nothing left to change');
    assert.ok(again.examined >= 2);
    assert.equal(await countOf('file.planned', h264), 2);
  });
});
