import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { JetStreamClient } from '@nats-io/jetstream';
import {
  decodeEvent,
  sampleData,
  subjectFor,
  validateEvent,
  wrap,
  type EventEnvelope,
  type EventType,
} from '@conform/contracts';
import {
  EventPublisher,
  eventually,
  lastEventOf,
  silentLogger,
  startTestBus,
  type MessageOutcome,
  type PublishResult,
  type ServiceContext,
  type TestBus,
} from '@conform/bus';
import { generateClip } from '@conform/media';
import { startEncoder } from '../src/index.js';

/**
 * Stands in for a node one version ahead: every event it publishes carries keys today's
 * schemas do not have (an envelope `traceparent`, a data `node`), as a newer producer whose
 * own schema has them would. The known part is still checked strictly first.
 */
class NewerPublisher extends EventPublisher {
  private readonly jsc: JetStreamClient;
  constructor(js: JetStreamClient, producer: string) {
    super(js, { producer });
    this.jsc = js;
  }
  override async publish(event: EventEnvelope): Promise<PublishResult> {
    const checked = validateEvent(event);
    if (!checked.ok) throw new Error(checked.error);
    const newer = {
      ...event,
      traceparent: '00-4bf92f-00f067-01',
      data: { ...event.data, node: this.producer },
    };
    const ack = await this.jsc.publish(
      subjectFor(event.type, event.fileId),
      JSON.stringify(newer),
      {
        msgID: event.id,
      },
    );
    return { seq: ack.seq, duplicate: ack.duplicate };
  }
}

let t: TestBus;
let library: string;
const outcomes: MessageOutcome[] = [];
const context = (publisher: EventPublisher): ServiceContext => ({
  bus: t.bus,
  publisher,
  log: silentLogger(),
  eventLog: { maxBytes: 64 * 1024 * 1024 },
  onOutcome: (_s, o) => outcomes.push(o),
});

before(async () => {
  t = await startTestBus('rolling-upgrade');
  library = await mkdtemp(join(tmpdir(), 'conform-rolling-'));
});
after(async () => {
  await t.cleanup();
  await rm(library, { recursive: true, force: true });
});

function planned(fileId: string, name: string): EventEnvelope<'file.planned'> {
  return wrap(
    {
      type: 'file.planned',
      data: {
        ...sampleData['file.planned'],
        library,
        path: join(library, name),
        target: { videoCodec: 'hevc', container: 'mkv' },
        durationSec: 1,
      },
    },
    { fileId, producer: 'planner@test', time: new Date() },
  );
}

async function publishRaw(event: unknown, type: EventType, fileId: string, id: string) {
  await t.bus.js.publish(subjectFor(type, fileId), JSON.stringify(event), { msgID: id });
}

const last = async <T extends EventType>(type: T, fileId: string) =>
  (await lastEventOf(t.bus, type, fileId))?.event ?? null;

describe('rolling upgrade: tolerant readers', () => {
  it('encodes from a v1 plan with unknown keys and from an old-shape plan', async () => {
    const encoder = await startEncoder(
      context(new EventPublisher(t.bus.js, { producer: 'encoder@a' })),
      {
        niceness: 0, // not a priority test: at 19 a busy CI machine starves the encode
        slots: 1,
        encoder: 'libx265',
      },
    );
    try {
      await generateClip({ path: join(library, 'extra.mkv'), durationSec: 1 });
      await generateClip({ path: join(library, 'old.mkv'), durationSec: 1 });
      const withExtra = planned('extra', 'extra.mkv');
      await publishRaw(
        {
          ...withExtra,
          traceparent: '00-abc-01',
          data: {
            ...withExtra.data,
            pool: 'gpu-hevc',
            target: { ...withExtra.data.target, filmGrain: 8 },
          },
        },
        'file.planned',
        'extra',
        withExtra.id,
      );
      // The shape an early planner wrote: none of the optional keys added since.
      const old = planned('old', 'old.mkv');
      const oldData: Record<string, unknown> = { ...old.data };
      delete oldData.limits;
      delete oldData.previousPolicyVersion;
      await publishRaw({ ...old, data: oldData }, 'file.planned', 'old', old.id);

      const extra = await eventually(() => last('encode.completed', 'extra'), {
        what: 'encode.completed for the plan with unknown keys',
        timeoutMs: 60_000,
      });
      const fromOld = await eventually(() => last('encode.completed', 'old'), {
        what: 'encode.completed for the old-shape plan',
        timeoutMs: 60_000,
      });
      // The unknown nested key was not copied into the encoder's own (strictly checked) event.
      assert.deepEqual(extra.data.target, { videoCodec: 'hevc', container: 'mkv' });
      assert.equal(extra.causationId, withExtra.id);
      assert.equal(fromOld.causationId, old.id);
      assert.equal(
        outcomes.filter((o) => o.kind === 'dead-lettered').length,
        0,
        'nothing dead-lettered',
      );
    } finally {
      await encoder.stop();
    }
  });

  it('finishes a batch with an old and a newer encoder sharing the queue', async () => {
    const names = ['m1', 'm2', 'm3', 'm4'];
    await Promise.all(
      names.map((n) => generateClip({ path: join(library, `${n}.mkv`), durationSec: 1 })),
    );
    const oldNode = await startEncoder(
      context(new EventPublisher(t.bus.js, { producer: 'encoder@old' })),
      {
        niceness: 0, // not a priority test: at 19 a busy CI machine starves the encode
        slots: 1,
        encoder: 'libx265',
        node: 'encoder@old',
      },
    );
    const newNode = await startEncoder(context(new NewerPublisher(t.bus.js, 'encoder@new')), {
      niceness: 0, // not a priority test: at 19 a busy CI machine starves the encode
      slots: 1,
      encoder: 'libx265',
      node: 'encoder@new',
    });
    try {
      for (const n of names) {
        const p = planned(n, `${n}.mkv`);
        await publishRaw(p, 'file.planned', n, p.id);
      }
      const done = await eventually(
        async () => {
          const all = await Promise.all(names.map((n) => last('encode.completed', n)));
          return all.every(Boolean) ? (all as EventEnvelope<'encode.completed'>[]) : null;
        },
        { what: 'encode.completed for the whole batch', timeoutMs: 120_000 },
      );
      const producers = new Set(done.map((e) => e.producer));
      assert.deepEqual([...producers].sort(), ['encoder@new', 'encoder@old'], 'both nodes worked');
      // The newer node's events, as stored, carry its extra keys and still read on this version.
      for (const e of done.filter((x) => x.producer === 'encoder@new')) {
        const raw = await t.bus.jsm.streams.getMessage('CONFORM_EVENTS', {
          last_by_subj: subjectFor('encode.completed', e.fileId),
        });
        const stored = raw!.json<Record<string, unknown> & { data: Record<string, unknown> }>();
        assert.equal(stored.data.node, 'encoder@new');
        assert.equal(decodeEvent(raw!.data).ok, true);
      }
    } finally {
      await Promise.all([oldNode.stop(), newNode.stop()]);
    }
  });
});
