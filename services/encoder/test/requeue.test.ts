import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CONTROL_FILE_ID,
  sampleData,
  subjectFor,
  type EventEnvelope,
  type EventType,
} from '@conform/contracts';
import {
  EVENT_LOG_STREAM,
  EventPublisher,
  WORK_STREAM,
  eventually,
  openKeyValue,
  provisionEventLog,
  provisionWorkStream,
  readEvents,
  recordingLogger,
  silentLogger,
  startTestBus,
  type RunningService,
  type TestBus,
} from '@conform/bus';
import { generateClip } from '@conform/media';
import {
  ENCODER_BUCKET,
  needsRequeue,
  requeueLostWork,
  startEncoder,
  type EncoderAvailability,
} from '../src/index.js';

const x265: EncoderAvailability[] = [
  {
    encoder: 'libx265',
    codec: 'hevc',
    backend: 'cpu',
    compiled: true,
    works: true,
    reason: 'trial encode succeeded',
  },
];

describe('needsRequeue', () => {
  const state = {
    job: {} as EventEnvelope<'file.planned'>,
    seq: 10,
    routed: true,
    queued: false,
    after: [],
  };
  it('queues again only a routed job that is not queued and has no outcome after it', () => {
    assert.equal(needsRequeue(state), true);
    assert.equal(needsRequeue({ ...state, routed: false }), false, 'the router queues it itself');
    assert.equal(needsRequeue({ ...state, queued: true }), false, 'still in the work stream');
    const done = [{ type: 'encode.completed' as const, seq: 12 }];
    assert.equal(needsRequeue({ ...state, after: done }), false, 'a finished plan');
    const before = [{ type: 'encode.completed' as const, seq: 8 }];
    assert.equal(needsRequeue({ ...state, after: before }), true, 'an outcome of an older plan');
    const transient = [{ type: 'encode.failed' as const, seq: 12, permanent: false }];
    assert.equal(needsRequeue({ ...state, after: transient }), true);
    const kept = [{ type: 'encode.failed' as const, seq: 12, permanent: true }];
    assert.equal(needsRequeue({ ...state, after: kept }), false);
  });
});

describe('the work stream rebuilt from the event log', () => {
  let t: TestBus;
  let library: string;
  const running: RunningService[] = [];
  const start = (node: string, log = silentLogger()) =>
    startEncoder(
      {
        bus: t.bus,
        publisher: new EventPublisher(t.bus.js, { producer: `encoder@${node}` }),
        log,
        eventLog: { maxBytes: 64 * 1024 * 1024 },
      },
      {
        niceness: 0, // not a priority test: at 19 a busy CI machine starves the encode
        node,
        slots: 1,
        availability: x265,
        heartbeatIntervalMs: 60_000,
      },
    );
  const eventsOf = async <T extends EventType>(type: T, fileId: string) =>
    (await readEvents(t.bus, subjectFor(type, fileId))).map((e) => e.event as EventEnvelope<T>);
  const queuedSubjects = async () =>
    Object.keys(
      (await t.bus.jsm.streams.info(WORK_STREAM, { subjects_filter: 'conform.work.>' })).state
        .subjects ?? {},
    ).sort();

  let controls = 0;
  const publisher = () => new EventPublisher(t.bus.js, { producer: 'planner@test' });
  const plan = (fileId: string) =>
    publisher().emit(
      {
        type: 'file.planned',
        data: {
          ...sampleData['file.planned'],
          library,
          path: join(library, `${fileId}.mkv`),
          target: { videoCodec: 'hevc', container: 'mkv' },
          durationSec: 1,
        },
      },
      { fileId },
    );
  const control = (action: 'pause' | 'resume') =>
    publisher().emit(
      {
        type: 'control.requested',
        data: { action, path: null, now: false, requestedBy: 'test' },
      },
      { fileId: CONTROL_FILE_ID, discriminator: `${action}-${++controls}` },
    );

  before(async () => {
    t = await startTestBus('requeue');
    library = await mkdtemp(join(tmpdir(), 'conform-requeue-'));
    for (const id of ['done1', 'q1', 'q2', 'q3', 'r0', 'r1', 'r2']) {
      await generateClip({ path: join(library, `${id}.mkv`), durationSec: 1 });
    }
  });
  after(async () => {
    for (const r of running) await r.stop();
    await t.cleanup();
    await rm(library, { recursive: true, force: true });
  });

  it('skips the log read while the work stream is the one its last check found whole', async () => {
    const check = () => requeueLostWork(t.bus, 'cpu', silentLogger());
    await provisionEventLog(t.bus.jsm, { maxBytes: 64 * 1024 * 1024 });
    await provisionWorkStream(t.bus.jsm);
    // Whatever an earlier check recorded, this stream is not it.
    await (await openKeyValue(t.bus, ENCODER_BUCKET)).put('work-stream-checked', 'another');
    assert.equal((await check()).skipped, undefined, 'first check of this stream reads the log');
    assert.equal((await check()).skipped, true, 'same stream: nothing can have been lost');
    await t.bus.jsm.streams.delete(WORK_STREAM);
    await provisionWorkStream(t.bus.jsm); // a new work stream, another creation time
    assert.equal((await check()).skipped, undefined, 'a re-created stream is checked');
    assert.equal((await check()).skipped, true);
  });

  it('deleted with plans queued: a restart queues them again, once, and not the finished one', async () => {
    const first = await start('a');
    await plan('done1');
    await eventually(async () => (await eventsOf('encode.completed', 'done1'))[0], {
      what: 'the first file encoded',
      timeoutMs: 60_000,
    });
    // Paused, the node still routes: plans wait in the work stream.
    await control('pause');
    await eventually(async () => (await eventsOf('encoder.paused', CONTROL_FILE_ID))[0], {
      what: 'the pause',
    });
    for (const id of ['q1', 'q2', 'q3']) await plan(id);
    const waiting = ['q1', 'q2', 'q3'].map((id) => `conform.work.cpu-hevc.1g.${id}`);
    await eventually(async () => (await queuedSubjects()).length === 3 || null, {
      what: 'three plans queued',
    });
    assert.deepEqual(await queuedSubjects(), waiting);
    await first.stop();

    // The work stream is lost with its three jobs.
    await t.bus.jsm.streams.delete(WORK_STREAM);

    // Two nodes start at once: both check the work queue against the log.
    const b = recordingLogger();
    const c = recordingLogger();
    running.push(...(await Promise.all([start('b', b.log), start('c', c.log)])));
    const checked = (records: Record<string, unknown>[]) =>
      records.find((r) => r.msg === 'work queue checked against the log');
    const [byB, byC] = await Promise.all(
      [b, c].map((l) =>
        eventually(() => checked(l.records), { what: 'the work queue check', timeoutMs: 30_000 }),
      ),
    );
    // Between them they queued the three open plans (a repeat is dropped by its message id);
    // the finished one is not queued.
    assert.equal(byB!.considered, 4);
    assert.ok(Number(byB!.requeued) + Number(byC!.requeued) >= 3);
    assert.deepEqual(await queuedSubjects(), waiting);
    const info = await t.bus.jsm.streams.info(WORK_STREAM);
    assert.equal(info.state.messages, 3, 'each job stored once');

    await control('resume');
    for (const id of ['q1', 'q2', 'q3']) {
      await eventually(async () => (await eventsOf('encode.completed', id))[0], {
        what: `${id} encoded`,
        timeoutMs: 120_000,
      });
    }
    for (const id of ['done1', 'q1', 'q2', 'q3']) {
      assert.equal((await eventsOf('encode.started', id)).length, 1, `${id} encoded once`);
      assert.equal((await eventsOf('encode.completed', id)).length, 1);
    }
  });

  it('a new NATS with only the log: the router reads it from the start and queues only open plans', async () => {
    for (const r of running.splice(0)) await r.stop();
    const node = await start('d');
    await plan('r0');
    await eventually(async () => (await eventsOf('encode.completed', 'r0'))[0], {
      what: 'r0 encoded',
      timeoutMs: 60_000,
    });
    await control('pause');
    for (const id of ['r1', 'r2']) await plan(id);
    await eventually(
      async () =>
        (await queuedSubjects()).join() ===
          ['r1', 'r2'].map((id) => `conform.work.cpu-hevc.1g.${id}`).join() || null,
      { what: 'two plans queued' },
    );
    await node.stop();
    // What a NATS restored from the replicated log lacks: the work stream and the router's state.
    await t.bus.jsm.streams.delete(WORK_STREAM);
    for (const durable of ['router-file-planned', 'router-control-requested']) {
      await t.bus.jsm.consumers.delete(EVENT_LOG_STREAM, durable);
    }
    running.push(await start('e'));
    await control('resume');
    for (const id of ['r1', 'r2']) {
      await eventually(async () => (await eventsOf('encode.completed', id))[0], {
        what: `${id} encoded`,
        timeoutMs: 120_000,
      });
    }
    // The router went through every plan of the log again: the finished ones stayed finished.
    const router = await t.bus.jsm.consumers.info(EVENT_LOG_STREAM, 'router-file-planned');
    assert.equal(router.num_pending, 0);
    for (const id of ['done1', 'q1', 'q2', 'q3', 'r0', 'r1', 'r2']) {
      assert.equal((await eventsOf('encode.started', id)).length, 1, `${id} encoded once`);
    }
  });

  it('plans stored after a new router started are queued without reading their history', async () => {
    for (const r of running.splice(0)) await r.stop();
    await t.bus.jsm.consumers.delete(EVENT_LOG_STREAM, 'router-file-planned');
    await control('pause'); // routed, not encoded
    // Every read of the log, as the server routes it: the history check reads by subject.
    const reads: string[] = [];
    const subs = ['$JS.API.STREAM.MSG.GET.>', '$JS.API.DIRECT.GET.>'].map((subject) =>
      t.bus.nc.subscribe(subject, {
        callback: (_err, msg) => void reads.push(`${msg.subject} ${msg.string()}`),
      }),
    );
    await t.bus.nc.flush();
    try {
      const node = await start('f');
      running.push(node);
      // Read again from the start, the old plans are checked (all of them were answered) …
      await eventually(
        async () => {
          const c = await t.bus.jsm.consumers.info(EVENT_LOG_STREAM, 'router-file-planned');
          return (
            (c.delivered.consumer_seq > 0 && c.num_pending === 0 && c.num_ack_pending === 0) || null
          );
        },
        { what: 'the old plans read again' },
      );
      // … these two are new: within the seconds a router's creation time leaves for the NATS
      // servers' clocks, yet stored after it started.
      for (const id of ['n1', 'n2']) await plan(id);
      await eventually(
        async () => {
          const queued = await queuedSubjects();
          return (
            ['n1', 'n2'].every((id) => queued.includes(`conform.work.cpu-hevc.1g.${id}`)) || null
          );
        },
        { what: 'the new plans queued' },
      );
      assert.ok(
        reads.some((r) => r.includes('.r1')),
        'an old plan was checked against its history',
      );
      assert.deepEqual(
        reads.filter((r) => r.includes('.n1') || r.includes('.n2')),
        [],
        'no history read for a plan stored after the router started',
      );
    } finally {
      for (const sub of subs) sub.unsubscribe();
    }
  });
});
