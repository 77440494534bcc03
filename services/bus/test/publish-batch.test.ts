import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sampleEvent, subjectFor, type EventEnvelope } from '@conform/contracts';
import {
  createBusMetrics,
  EVENT_LOG_STREAM,
  EventPublisher,
  provisionEventLog,
  PublishError,
  startTestBus,
  type PublishResult,
  type TestBus,
} from '../src/index.js';

let t: TestBus;
let publisher: EventPublisher;
before(async () => {
  t = await startTestBus();
  publisher = new EventPublisher(t.bus.js, { producer: 'test@host', nc: t.bus.nc });
  await provisionEventLog(t.bus.jsm, { maxBytes: 64 * 1024 * 1024 });
});
after(async () => t.cleanup());

const discovered = (n: number, prefix: string): EventEnvelope[] =>
  Array.from({ length: n }, (_, i) => sampleEvent('file.discovered', `${prefix}${i}`));

function stored(r: PublishResult | PublishError): PublishResult {
  assert.ok(!(r instanceof Error), `expected an ack, got ${String(r)}`);
  return r;
}

describe('publishBatch', () => {
  it('stores every event of a batch, in order, with the headers publish writes', async () => {
    const events = discovered(300, 'batch');
    const told: [number, PublishResult][] = [];
    const results = (
      await publisher.publishBatch(events, { onStored: (i, ack) => told.push([i, ack]) })
    ).map(stored);
    assert.equal(results.length, 300);
    // Told of each ack as it came, each once, with what the batch returns for it.
    assert.deepEqual(
      told.sort((a, b) => a[0] - b[0]),
      results.map((r, i) => [i, r]),
    );
    for (let i = 1; i < results.length; i++) assert.ok(results[i]!.seq > results[i - 1]!.seq);
    for (const i of [0, 150, 299]) {
      const m = await t.bus.jsm.streams.getMessage(EVENT_LOG_STREAM, { seq: results[i]!.seq });
      assert.equal(m?.subject, subjectFor('file.discovered', `batch${i}`));
      assert.equal(m?.header.get('Nats-Msg-Id'), events[i]!.id);
      assert.equal(m?.header.get('Conform-Type'), 'file.discovered');
      assert.equal(m?.header.get('Conform-Producer'), events[i]!.producer);
      assert.equal(m?.json<EventEnvelope>()?.id, events[i]!.id);
    }
  });

  it('reports a repeat of an event id as a duplicate with the first sequence', async () => {
    const events = discovered(3, 'again');
    const first = (await publisher.publishBatch(events)).map(stored);
    const second = (await publisher.publishBatch(events)).map(stored);
    assert.deepEqual(
      second.map((r) => r.duplicate),
      [true, true, true],
    );
    assert.deepEqual(
      second.map((r) => r.seq),
      first.map((r) => r.seq),
    );
  });

  it('refuses an invalid event with the schema error and stores the others', async () => {
    const [a, b] = discovered(2, 'mixed');
    const bad = { ...a!, data: { path: 'relative' } } as unknown as EventEnvelope;
    const told: number[] = [];
    const results = await publisher.publishBatch([bad, b!], { onStored: (i) => told.push(i) });
    assert.deepEqual(told, [1]);
    assert.ok(results[0] instanceof PublishError);
    assert.match(results[0].message, /refusing to publish an invalid file.discovered/);
    const ok = stored(results[1]!);
    const m = await t.bus.jsm.streams.getMessage(EVENT_LOG_STREAM, { seq: ok.seq });
    assert.equal(m?.header.get('Nats-Msg-Id'), b!.id);
  });

  it('says which events no stream took when the event log is not there', async () => {
    const other = await startTestBus('nostream');
    try {
      const alone = new EventPublisher(other.bus.js, { producer: 'test@host', nc: other.bus.nc });
      const results = await alone.publishBatch(discovered(2, 'nowhere'));
      for (const r of results) {
        assert.ok(r instanceof PublishError);
        assert.match(r.message, /did not store file.discovered for nowhere\d/);
      }
    } finally {
      await other.cleanup();
    }
  });

  it('is counted by the metrics once per stored event, with or without a connection', async () => {
    for (const nc of [t.bus.nc, undefined]) {
      const metrics = createBusMetrics();
      const counted = metrics.instrument(new EventPublisher(t.bus.js, { producer: 'p@h', nc }));
      await counted.publishBatch(discovered(4, `counted${nc ? 'nc' : 'js'}`));
      const text = await metrics.registry.metrics();
      assert.match(
        text,
        /conform_events_published_total\{type="file.discovered",duplicate="false"\} 4\n/,
      );
    }
  });
});
