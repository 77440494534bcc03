import assert from 'node:assert/strict';
import { mkdtemp, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { sampleEvent } from '@conform/contracts';
import {
  EventPublisher,
  consumerSpec,
  createBusMetrics,
  DEFAULT_EVENT_LOG_MAX_BYTES,
  EVENT_LOG_STREAM,
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

describe('capacity metrics', () => {
  it("exports the event log's stored bytes and byte ceiling as the stream reports them", async () => {
    const metrics = createBusMetrics({ jsm: t.bus.jsm, registry: new Registry() });
    const publisher = new EventPublisher(t.bus.js, { producer: 'test@host' });
    await publisher.publish(sampleEvent('file.discovered', 'capacity-1'));
    const info = await t.bus.jsm.streams.info(EVENT_LOG_STREAM);
    assert.ok(info.state.bytes > 0);
    const samples = parseExposition(await metrics.registry.metrics());
    assert.equal(samples.get('conform_event_log_bytes'), info.state.bytes);
    assert.equal(samples.get('conform_event_log_max_bytes'), DEFAULT_EVENT_LOG_MAX_BYTES);
  });

  it('exports free and total bytes of each library and archive filesystem, skipping missing folders', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conform-disk-'));
    try {
      const metrics = createBusMetrics({
        registry: new Registry(),
        disks: [
          { path: dir, role: 'library' },
          { path: join(dir, 'not-mounted'), role: 'archive' },
        ],
      });
      const samples = parseExposition(await metrics.registry.metrics());
      const fs = await statfs(dir);
      const labels = `{role="library",path="${dir}"}`;
      assert.equal(samples.get(`conform_disk_size_bytes${labels}`), fs.blocks * fs.bsize);
      const free = samples.get(`conform_disk_free_bytes${labels}`);
      assert.ok(free !== undefined && free > 0 && free <= fs.blocks * fs.bsize, `free ${free}`);
      // Within 64 MiB of a fresh statfs: the same filesystem, read moments apart.
      assert.ok(Math.abs(free - fs.bavail * fs.bsize) < 64 * 1024 ** 2);
      assert.ok(
        ![...samples.keys()].some((k) => k.includes('not-mounted')),
        'an unreadable folder is left out',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('serves /healthz beside /metrics for the container healthcheck', async () => {
    const server = await serveMetrics(createBusMetrics().registry);
    try {
      const health = await fetch(`${server.url}/healthz`);
      assert.equal(health.status, 200);
      assert.equal(await health.text(), 'ok\n');
      assert.equal((await fetch(`${server.url}/nope`)).status, 404);
    } finally {
      await server.close();
    }
  });
});
