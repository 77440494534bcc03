import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sampleEvent } from '@conform/contracts';
import {
  EventPublisher,
  consumerSpec,
  createBusMetrics,
  eventually,
  provisionEventLog,
  serveMetrics,
  silentLogger,
  startSubscriptions,
  startTestBus,
  type TestBus,
} from '../src/index.js';

/** Parses Prometheus text exposition into `name{labels}` → value, checking every line's shape. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    assert.ok(m, `not a valid exposition line: ${line}`);
    samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return samples;
}

let t: TestBus;
before(async () => {
  t = await startTestBus('metrics-test');
  await provisionEventLog(t.bus.jsm);
});
after(() => t.cleanup());

describe('bus metrics', () => {
  it('counts consumed, published and dead-lettered events and serves them as Prometheus text', async () => {
    const metrics = createBusMetrics({ jsm: t.bus.jsm });
    const publisher = metrics.instrument(new EventPublisher(t.bus.js, { producer: 'test@host' }));
    const service = await startSubscriptions(
      'metered',
      { bus: t.bus, publisher, log: silentLogger(), onOutcome: metrics.onOutcome },
      [
        {
          consumer: consumerSpec('metered', 'file.discovered', { maxDeliver: 1 }),
          handle: async (event) => {
            if (event.fileId === 'bad') throw new Error('cannot');
          },
        },
      ],
    );
    const server = await serveMetrics(metrics.registry);
    try {
      await publisher.publish(sampleEvent('file.discovered', 'good'));
      await publisher.publish(sampleEvent('file.discovered', 'bad'));
      await publisher.publish(sampleEvent('file.replaced', 'good'));
      await publisher.publish(sampleEvent('file.replaced', 'good'));
      const samples = await eventually(
        async () => {
          const s = parseExposition(await (await fetch(`${server.url}/metrics`)).text());
          return s.get('conform_dead_letters_total{service="metered"}') === 1 ? s : null;
        },
        { what: 'a dead letter in the metrics' },
      );
      assert.equal(
        samples.get(
          'conform_events_consumed_total{service="metered",type="file.discovered",outcome="acked"}',
        ),
        1,
      );
      assert.equal(
        samples.get(
          'conform_handler_duration_seconds_count{service="metered",type="file.discovered"}',
        ),
        1,
      );
      assert.equal(
        samples.get('conform_events_published_total{type="file.discovered",duplicate="false"}'),
        2,
      );
      assert.equal(
        samples.get('conform_events_published_total{type="file.replaced",duplicate="true"}'),
        1,
      );
      assert.equal(
        samples.get(
          'conform_events_published_total{type="message.deadlettered",duplicate="false"}',
        ),
        1,
      );
      assert.equal(samples.get('conform_bytes_saved_total{library="/media/movies"}'), 600_000);
      assert.equal(samples.get('conform_consumer_pending{consumer="metered-file-discovered"}'), 0);
      assert.equal((await fetch(`${server.url}/other`)).status, 404);
    } finally {
      await service.stop();
      await server.close();
    }
  });
});
