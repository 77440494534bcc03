// The pull loops of one consumer share its pulls (IdlePulls): counted from the server's side,
// an idle consumer has one pull request in flight for all its loops, and the first burst after
// a lull reaches every loop from that one pull.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sampleEvent } from '@conform/contracts';
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
  type EventHandler,
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

const LOOPS = 4;

/** A worker with LOOPS pull loops on its own consumer, and every pull request it sends. */
async function startLoops(name: string, pullExpiresMs: number, handle: EventHandler) {
  const consumer = consumerSpec(name, 'encode.failed', { ackWaitMs: 30_000, maxDeliver: 3 });
  await provisionConsumer(t.bus.jsm, consumer);
  // The server routes a pull request like any message: a subscriber on its subject sees each.
  const requests: { batch: number }[] = [];
  const sub = t.bus.nc.subscribe(
    `$JS.API.CONSUMER.MSG.NEXT.${EVENT_LOG_STREAM}.${consumer.durable}`,
    { callback: (_err, msg) => void requests.push(msg.json<{ batch: number }>()) },
  );
  // Every look-up of the consumer (its info), from the loops or from the test's `waiting`.
  let lookups = 0;
  const infoSub = t.bus.nc.subscribe(
    `$JS.API.CONSUMER.INFO.${EVENT_LOG_STREAM}.${consumer.durable}`,
    { callback: () => void lookups++ },
  );
  await t.bus.nc.flush();
  const abort = new AbortController();
  const done = runWorker({
    js: t.bus.js,
    publisher,
    consumer,
    handle,
    slots: LOOPS,
    log: silentLogger(),
    signal: abort.signal,
    pullExpiresMs,
  });
  const waiting = async () =>
    (await t.bus.jsm.consumers.info(EVENT_LOG_STREAM, consumer.durable)).num_waiting;
  return {
    requests,
    waiting,
    lookups: () => lookups,
    stop: async () => {
      abort.abort();
      await done;
      sub.unsubscribe();
      infoSub.unsubscribe();
    },
  };
}

describe('pull loops sharing a consumer', () => {
  it('the loops look their consumer up with one request, and pull together', async () => {
    const w = await startLoops('lookup', 60_000, async () => {});
    try {
      await eventually(() => w.requests.length >= 1, { what: 'the first pull request' });
      // Looked up one by one, the answers came back spread out under load, and the first pull
      // stood for only the loops that had theirs.
      assert.equal(w.lookups(), 1, 'one consumer-info request for the four loops');
      assert.equal(w.requests[0]!.batch, LOOPS);
    } finally {
      await w.stop();
    }
  });

  it('an idle consumer has one pull request in flight for all its loops', async () => {
    const w = await startLoops('idle', 1_000, async () => {});
    try {
      // Three expiries and the pulls after them: each stands for the four loops, alone.
      for (let n = 1; n <= 4; n++) {
        await eventually(() => w.requests.length >= n, { what: `pull request ${n}` });
        assert.equal(w.requests[n - 1]!.batch, LOOPS, 'one request for every loop');
        assert.ok((await w.waiting()) <= 1, 'the server holds one pull request at most');
      }
      assert.equal(w.requests.length, 4);
    } finally {
      await w.stop();
    }
  });

  it(
    'a burst after a lull reaches every loop from the one idle pull',
    { timeout: 30_000 },
    async () => {
      // Pulls that expire after a minute: had the other loops to wait out the idle pull (or to
      // pull only after it brought a message), the handlers below would never all run at once.
      let started = 0;
      let allStarted!: () => void;
      const together = new Promise<void>((resolve) => (allStarted = resolve));
      const w = await startLoops('burst', 60_000, async () => {
        if (++started === LOOPS) allStarted();
        await together;
      });
      try {
        await eventually(async () => (await w.waiting()) === 1, { what: 'the idle pull' });
        for (let i = 0; i < LOOPS; i++)
          await publisher.publish(sampleEvent('encode.failed', `b${i}`));
        await together;
        assert.equal(started, LOOPS);
        assert.deepEqual(
          w.requests.slice(0, 1).map((r) => r.batch),
          [LOOPS],
        );
        assert.equal(w.requests.length, 1, 'the burst was handed out from the idle pull');
      } finally {
        await w.stop();
      }
    },
  );
});
