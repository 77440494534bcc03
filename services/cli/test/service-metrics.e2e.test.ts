import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EventPublisher, eventually, startTestBus, type TestBus } from '@conform/bus';
import { sampleEvent } from '@conform/contracts';
import { runConform } from './run-conform.js';

// A service run alone (how compose runs it) serves its own /metrics: `conform run encoder`
// against a test nats-server, scraped as Prometheus would.

const NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/.source;
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
// prom-client writes NaN as "Nan" (an event-loop lag gauge before its first sample); the
// Prometheus parser reads NaN in any case, so both spellings are valid here.
const VALUE = /(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN|Nan)/.source;
const SAMPLE = new RegExp(
  `^(${NAME})(?:\\{(?:${LABEL}(?:,${LABEL})*,?)?\\})? ${VALUE}(?: -?\\d+)?$`,
);
const HELP = new RegExp(`^# HELP (${NAME}) .*$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);

/** Checks every line of a text exposition; returns the families declared by `# TYPE`. */
function parseExposition(text: string): Map<string, string> {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
  const types = new Map<string, string>();
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    const type = TYPE.exec(line);
    if (type) {
      assert.ok(!types.has(type[1]!), `${type[1]} declared once`);
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (HELP.test(line)) continue;
    const sample = SAMPLE.exec(line);
    assert.ok(sample, `not valid exposition syntax: ${JSON.stringify(line)}`);
    // A sample belongs to a declared family (histograms add _bucket, _sum and _count).
    const name = sample[1]!;
    const family = [name, name.replace(/_(bucket|sum|count)$/, '')].find((n) => types.has(n));
    assert.ok(family, `${name} has a # TYPE line before it`);
  }
  return types;
}

/** The value of the one sample of `name` whose labels include every one of `labels`. */
function sampleValue(text: string, name: string, labels: Record<string, string>): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return null;
}

let bus: TestBus;
before(async () => {
  bus = await startTestBus('service-metrics');
});
after(async () => {
  await bus?.cleanup();
});

describe('conform run encoder --metrics-port 0', { timeout: 120_000 }, () => {
  it('logs the real metrics URL and serves process, backlog and consumption metrics there', async () => {
    const encoder = runConform([
      'run',
      'encoder',
      '--nats',
      bus.server.url,
      '--metrics-port',
      '0',
      '--encoder',
      'libx265',
    ]);
    try {
      const served = await encoder.waitForLog('metrics served');
      const url = new URL(String(served.url));
      assert.notEqual(url.port, '0', 'the URL names the port actually bound');
      assert.notEqual(url.port, '');
      const scrape = async () => {
        const res = await fetch(new URL('/metrics', url));
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
        return res.text();
      };
      assert.equal((await fetch(new URL('/other', url))).status, 404);

      // The consumer exists once the encoder (which also routes plans) has started; before that it
      // has no backlog row.
      const idle = await eventually(
        async () => {
          const text = await scrape();
          return sampleValue(text, 'conform_consumer_pending', {
            consumer: 'router-file-planned',
          }) === 0
            ? text
            : null;
        },
        { what: 'a backlog row for the encoder consumer' },
      );
      const types = parseExposition(idle);
      for (const name of [
        'process_cpu_user_seconds_total',
        'process_resident_memory_bytes',
        'nodejs_heap_size_used_bytes',
      ]) {
        assert.ok(types.has(name), `process metric ${name}`);
        assert.notEqual(sampleValue(idle, name, {}), null, `${name} has a sample`);
      }
      assert.equal(types.get('conform_consumer_pending'), 'gauge');
      assert.equal(types.get('conform_events_consumed_total'), 'counter');
      assert.equal(
        sampleValue(idle, 'conform_events_consumed_total', { service: 'encoder' }),
        null,
        'nothing consumed yet',
      );

      // A file the planner found compliant: the encoder only acks it.
      const planned = sampleEvent('file.planned', 'fmetrics1');
      const publisher = new EventPublisher(bus.bus.js, { producer: 'test@localhost' });
      await publisher.emit(
        {
          type: 'file.planned',
          data: {
            ...planned.data,
            decision: 'compliant',
            reasons: ['video codec hevc is compliant'],
            target: null,
            estimatedOutputBytes: null,
          },
        },
        { fileId: 'fmetrics1', discriminator: 'metrics-test' },
      );

      const handled = await eventually(
        async () => {
          const text = await scrape();
          const acked = sampleValue(text, 'conform_events_consumed_total', {
            service: 'encoder',
            type: 'file.planned',
            outcome: 'acked',
          });
          return acked === 1 ? text : null;
        },
        { what: 'the compliant plan counted as acked' },
      );
      parseExposition(handled);
      assert.equal(
        sampleValue(handled, 'conform_consumer_pending', { consumer: 'router-file-planned' }),
        0,
      );
      assert.equal(
        sampleValue(handled, 'conform_consumer_ack_pending', {
          consumer: 'router-file-planned',
        }),
        0,
        'acked, not left in flight',
      );
      assert.equal(
        sampleValue(handled, 'conform_handler_duration_seconds_count', {
          service: 'encoder',
          type: 'file.planned',
        }),
        1,
      );
      assert.equal(
        sampleValue(handled, 'conform_events_published_total', { type: 'encode.started' }),
        null,
        'a compliant file is not encoded',
      );

      encoder.child.kill('SIGTERM');
      assert.equal(await encoder.exited, 0, encoder.stderr());
      await assert.rejects(fetch(new URL('/metrics', url)), 'the metrics port is closed on stop');
    } finally {
      encoder.kill();
    }
  });
});
