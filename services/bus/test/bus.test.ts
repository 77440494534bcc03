import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sampleEvent, subjectFor, type EventEnvelope } from '@conform/contracts';
import {
  EVENT_LOG_STREAM,
  EventPublisher,
  consumerSpec,
  eventually,
  provisionConsumer,
  provisionEventLog,
  runWorker,
  silentLogger,
  startTestBus,
  TransientError,
  type MessageOutcome,
  type TestBus,
} from '../src/index.js';

let t: TestBus;
let publisher: EventPublisher;
before(async () => {
  t = await startTestBus();
  publisher = new EventPublisher(t.bus.js, { producer: 'test@host' });
  await provisionEventLog(t.bus.jsm, { maxBytes: 64 * 1024 * 1024 });
});
after(async () => t.cleanup());

/** Reads the streams section of the server's monitoring endpoint. */
async function jszStream(): Promise<{
  config: Record<string, unknown>;
  state: { messages: number };
}> {
  const res = await fetch(`${t.server.monitorUrl}/jsz?streams=true&config=true&consumers=true`);
  const body = (await res.json()) as {
    account_details: {
      stream_detail: {
        name: string;
        config: Record<string, unknown>;
        state: { messages: number };
      }[];
    }[];
  };
  const stream = body.account_details[0]?.stream_detail.find((s) => s.name === EVENT_LOG_STREAM);
  assert.ok(stream, 'stream listed in /jsz');
  return stream;
}

function withFileId(type: Parameters<typeof sampleEvent>[0], fileId: string): EventEnvelope {
  return sampleEvent(type, fileId);
}

describe('event-log stream', () => {
  it('is provisioned with history-keeping limits, as /jsz shows', async () => {
    await provisionEventLog(t.bus.jsm, { maxBytes: 64 * 1024 * 1024 }); // twice: idempotent
    const { config } = await jszStream();
    assert.equal(config.retention, 'limits');
    assert.equal(config.storage, 'file');
    assert.equal(config.discard, 'new');
    assert.equal(config.deny_delete, true);
    assert.equal(config.deny_purge, true);
    assert.equal(config.max_bytes, 64 * 1024 * 1024);
    assert.deepEqual(config.subjects, ['conform.evt.>']);
  });

  it('brings a changed limit up to date instead of failing', async () => {
    await provisionEventLog(t.bus.jsm, { maxBytes: 32 * 1024 * 1024 });
    assert.equal((await jszStream()).config.max_bytes, 32 * 1024 * 1024);
    await provisionEventLog(t.bus.jsm, { maxBytes: 64 * 1024 * 1024 });
  });

  it('refuses deletes and purges', async () => {
    await assert.rejects(t.bus.jsm.streams.purge(EVENT_LOG_STREAM));
  });
});

describe('publishing', () => {
  it('drops a second publish of the same event id', async () => {
    const event = withFileId('file.discovered', 'dedupe1');
    const first = await publisher.publish(event);
    const second = await publisher.publish(event);
    assert.equal(first.duplicate, false);
    assert.equal(second.duplicate, true);
    assert.equal(second.seq, first.seq);
  });

  it('refuses an invalid event with the schema error', async () => {
    const bad = {
      ...withFileId('file.discovered', 'bad1'),
      data: { path: 'relative' },
    } as unknown as EventEnvelope;
    await assert.rejects(
      publisher.publish(bad),
      /refusing to publish an invalid file.discovered: .*missing key/,
    );
  });

  it('writes the event type and lineage into headers for nats CLI users', async () => {
    const event = withFileId('file.planned', 'headers1');
    const { seq } = await publisher.publish(event);
    const stored = await t.bus.jsm.streams.getMessage(EVENT_LOG_STREAM, { seq });
    assert.equal(stored?.subject, subjectFor('file.planned', 'headers1'));
    assert.equal(stored?.header.get('Conform-Type'), 'file.planned');
    assert.equal(stored?.header.get('Nats-Msg-Id'), event.id);
  });
});

describe('worker', () => {
  async function startWorker(
    name: string,
    handle: Parameters<typeof runWorker>[0]['handle'],
    overrides: Partial<Parameters<typeof consumerSpec>[2]> = {},
    slots = 1,
  ) {
    const consumer = consumerSpec(name, 'encode.failed', {
      ackWaitMs: 1_000,
      maxDeliver: 3,
      ...overrides,
    });
    consumer.filterSubject = `conform.evt.encode.failed.${name}`;
    await provisionConsumer(t.bus.jsm, consumer);
    const abort = new AbortController();
    const outcomes: MessageOutcome[] = [];
    const done = runWorker({
      js: t.bus.js,
      publisher,
      consumer,
      handle,
      slots,
      log: silentLogger(),
      signal: abort.signal,
      retryDelayMs: 100,
      pullExpiresMs: 1_000,
      onOutcome: (o) => outcomes.push(o),
    });
    return { outcomes, stop: async () => (abort.abort(), await done) };
  }

  async function deadLetters(fileId: string) {
    const found: EventEnvelope[] = [];
    const info = await t.bus.jsm.streams.info(EVENT_LOG_STREAM);
    for (let seq = 1; seq <= info.state.last_seq; seq++) {
      const m = await t.bus.jsm.streams.getMessage(EVENT_LOG_STREAM, { seq }).catch(() => null);
      if (m?.subject === subjectFor('message.deadlettered', fileId))
        found.push(m.json<EventEnvelope>());
    }
    return found;
  }

  it('acks after the handler succeeds and publishes follow-ups caused by the event', async () => {
    const seen: string[] = [];
    const w = await startWorker('okfile', async (event, ctx) => {
      seen.push(event.id);
      await ctx.emit({
        type: 'replace.failed',
        data: { library: '/l', path: '/l/a', reason: 'x', stale: false },
      });
    });
    const event = withFileId('encode.failed', 'okfile');
    await publisher.publish(event);
    await eventually(() => w.outcomes.some((o) => o.kind === 'acked'), { what: 'ack' });
    await w.stop();
    assert.deepEqual(seen, [event.id]);
    const info = await t.bus.jsm.consumers.info(EVENT_LOG_STREAM, 'okfile-encode-failed');
    assert.equal(info.num_ack_pending, 0);
    assert.equal(info.num_pending, 0);
  });

  it('retries a failing handler with a delay, then succeeds', async () => {
    let calls = 0;
    const w = await startWorker('flaky', async () => {
      calls++;
      if (calls < 3) throw new TransientError('disk busy', { delayMs: 50 });
    });
    await publisher.publish(withFileId('encode.failed', 'flaky'));
    await eventually(() => w.outcomes.some((o) => o.kind === 'acked'), {
      what: 'ack after retries',
    });
    await w.stop();
    assert.equal(calls, 3);
    assert.equal(w.outcomes.filter((o) => o.kind === 'retried').length, 2);
  });

  it('dead-letters a message that fails on every allowed delivery', async () => {
    let calls = 0;
    const w = await startWorker('doomed', async () => {
      calls++;
      throw new Error('always broken');
    });
    const event = withFileId('encode.failed', 'doomed');
    await publisher.publish(event);
    await eventually(() => w.outcomes.some((o) => o.kind === 'dead-lettered'), {
      what: 'dead letter',
    });
    await w.stop();
    assert.equal(calls, 3);
    const [dl] = await deadLetters('doomed');
    assert.ok(dl);
    assert.equal(dl.type, 'message.deadlettered');
    assert.equal(dl.causationId, event.id);
    assert.equal(dl.correlationId, event.correlationId);
    assert.match((dl.data as { reason: string }).reason, /failed 3 times; last: always broken/);
  });

  it('dead-letters an invalid message with the validation error and keeps going', async () => {
    const handled: string[] = [];
    const w = await startWorker('invalid', async (event) => {
      handled.push(event.id);
    });
    await t.bus.js.publish(
      'conform.evt.encode.failed.invalid',
      JSON.stringify({ type: 'encode.failed', version: 1 }),
    );
    await t.bus.js.publish('conform.evt.encode.failed.invalid', 'not even json');
    const good = withFileId('encode.failed', 'invalid');
    await publisher.publish(good);
    await eventually(() => handled.length === 1, { what: 'the valid event' });
    await eventually(() => w.outcomes.filter((o) => o.kind === 'dead-lettered').length === 2, {
      what: 'two dead letters',
    });
    await w.stop();
    assert.deepEqual(handled, [good.id]);
    const reasons = (await deadLetters('invalid')).map(
      (e) => (e.data as { reason: string }).reason,
    );
    assert.ok(
      reasons.some((r) => /invalid event: encode.failed v1: \/: missing key "id"/.test(r)),
      reasons.join('\n'),
    );
    assert.ok(
      reasons.some((r) => /payload is not JSON/.test(r)),
      reasons.join('\n'),
    );
  });

  it('keeps a long handler alive with in-progress acks instead of redelivering', async () => {
    let calls = 0;
    const w = await startWorker('slow', async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 3_000)); // three times the ack wait
    });
    await publisher.publish(withFileId('encode.failed', 'slow'));
    await eventually(() => w.outcomes.some((o) => o.kind === 'acked'), {
      what: 'slow ack',
      timeoutMs: 15_000,
    });
    await w.stop();
    assert.equal(calls, 1);
  });

  it('dead-letters, without running it again, a message whose handler died on the last delivery', async () => {
    const consumer = consumerSpec('crashed', 'encode.failed', { ackWaitMs: 500, maxDeliver: 1 });
    consumer.filterSubject = 'conform.evt.encode.failed.crashed';
    await provisionConsumer(t.bus.jsm, consumer);
    await publisher.publish(withFileId('encode.failed', 'crashed'));
    // A worker that "crashes": takes the message and never acks.
    const c = await t.bus.js.consumers.get(EVENT_LOG_STREAM, consumer.durable);
    const taken = await c.next({ expires: 2_000 });
    assert.ok(taken);
    let calls = 0;
    const w = await startWorker('crashed', async () => void calls++, {
      ackWaitMs: 500,
      maxDeliver: 1,
    });
    await eventually(() => w.outcomes.some((o) => o.kind === 'dead-lettered'), {
      what: 'dead letter',
    });
    await w.stop();
    assert.equal(calls, 0);
  });

  it('shares one durable consumer between workers without handling any message twice', async () => {
    const handledBy = new Map<string, number>();
    const handler = (who: string) => async (event: EventEnvelope) => {
      handledBy.set(event.id, (handledBy.get(event.id) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 20));
      void who;
    };
    const a = await startWorker('shared', handler('a'), {}, 2);
    const b = await startWorker('shared', handler('b'), {}, 2);
    for (let i = 0; i < 20; i++) {
      const e = withFileId('encode.failed', 'shared');
      await publisher.publish({ ...e, id: `${e.id.slice(0, -4)}${String(i).padStart(4, '0')}` });
    }
    await eventually(() => handledBy.size === 20, { what: '20 handled' });
    await a.stop();
    await b.stop();
    assert.ok([...handledBy.values()].every((n) => n === 1));
    assert.ok(a.outcomes.length > 0 && b.outcomes.length > 0, 'both workers took work');
  });
});
