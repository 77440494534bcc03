import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  BusError,
  EVENT_LOG_STREAM,
  startTestBus,
  connectBus,
  consumerSpec,
  eventLogConfig,
  eventually,
  provisionConsumer,
  provisionEventLog,
  startTestCluster,
  type Bus,
  type TestCluster,
} from '../src/index.js';

describe('event-log replicas', () => {
  it('passes replicas and placement tags into the stream configuration', () => {
    assert.equal(eventLogConfig().num_replicas, 1);
    const cfg = eventLogConfig({ replicas: 3, placementTags: ['ssd', 'eu'] });
    assert.equal(cfg.num_replicas, 3);
    assert.deepEqual(cfg.placement?.tags, ['ssd', 'eu']);
    assert.equal(eventLogConfig({ replicas: 3 }).placement, undefined);
  });
});

describe('replicas on a single server', () => {
  it('refuses 3 replicas with an error naming the setting', async () => {
    const t = await startTestBus('replicas-single');
    try {
      await assert.rejects(
        provisionEventLog(t.bus.jsm, { replicas: 3 }),
        (err: Error) =>
          err instanceof BusError &&
          /with 3 replica\(s\).*CONFORM_STREAM_REPLICAS.*needs a NATS cluster/.test(err.message),
      );
    } finally {
      await t.cleanup();
    }
  });
});

describe('replicas on a real 3-node cluster', () => {
  let cluster: TestCluster;
  let bus: Bus;
  before(async () => {
    cluster = await startTestCluster(3);
    bus = await connectBus({ servers: cluster.servers, name: 'replicas-test' });
  });
  after(async () => {
    await bus?.close();
    await cluster?.cleanup();
  });

  it('creates R1, raises the stream and its consumers to R3, and never lowers them', async () => {
    // The meta leader may still be settling right after start: the first create can time out.
    const created = await eventually(() => provisionEventLog(bus.jsm, { replicas: 1 }), {
      timeoutMs: 20_000,
      what: 'the event log on the cluster',
    });
    assert.equal(created.config.num_replicas, 1);
    const spec = consumerSpec('test', 'file.planned');
    await provisionConsumer(bus.jsm, spec, 1);
    assert.equal(
      (await bus.jsm.consumers.info(EVENT_LOG_STREAM, spec.durable)).config.num_replicas,
      1,
    );

    const raised = await provisionEventLog(bus.jsm, { replicas: 3 });
    assert.equal(raised.config.num_replicas, 3);
    await provisionConsumer(bus.jsm, spec, 3);
    const consumer = await bus.jsm.consumers.info(EVENT_LOG_STREAM, spec.durable);
    assert.equal(consumer.config.num_replicas, 3);

    // A node started with the default (1) leaves the cluster's R3 alone.
    const again = await provisionEventLog(bus.jsm, { replicas: 1 });
    assert.equal(again.config.num_replicas, 3);
    await provisionConsumer(bus.jsm, spec, 1);
    assert.equal(
      (await bus.jsm.consumers.info(EVENT_LOG_STREAM, spec.durable)).config.num_replicas,
      3,
    );

    // Three servers really hold it: a leader and two current replicas.
    const info = await eventually(
      async () => {
        const i = await bus.jsm.streams.info(EVENT_LOG_STREAM);
        return i.cluster?.leader && (i.cluster.replicas ?? []).length === 2 ? i : null;
      },
      { timeoutMs: 20_000, what: 'two stream replicas besides the leader' },
    );
    const leader = await cluster.streamLeader(EVENT_LOG_STREAM);
    assert.equal(leader?.name, info.cluster?.leader);
  });
});
