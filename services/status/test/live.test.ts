import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sampleData, sampleEvent, type EventEnvelope } from '@conform/contracts';
import {
  EventPublisher,
  createBusMetrics,
  eventually,
  provisionEventLog,
  provisionWorkStream,
  publishWork,
  silentLogger,
  startTestBus,
  type TestBus,
} from '@conform/bus';
import {
  openReadModels,
  startProjector,
  type ReadModels,
  type RunningProjector,
} from '@conform/projections';
import { startStatusServer, type StatusServer } from '../src/index.js';
import { launchTestBrowser } from './browser.js';

let t: TestBus;
let readModels: ReadModels;
let projector: RunningProjector;
let server: StatusServer;
let publisher: EventPublisher;
const TOKEN = 'sesame';

before(async () => {
  t = await startTestBus('status-live');
  await provisionEventLog(t.bus.jsm);
  publisher = new EventPublisher(t.bus.js, { producer: 'test@host' });
  readModels = openReadModels(':memory:');
  projector = await startProjector({ bus: t.bus, publisher, log: silentLogger() }, { readModels });
  server = await startStatusServer({
    readModels,
    log: silentLogger(),
    bus: t.bus,
    publisher,
    controlToken: TOKEN,
    busMetrics: createBusMetrics({ jsm: t.bus.jsm }).registry,
  });
  let last = 0;
  for (const e of [
    sampleEvent('file.discovered', 'fail1'),
    sampleEvent('encode.failed', 'fail1'),
    sampleEvent('file.discovered', 'enc1'),
    sampleEvent('encode.started', 'enc1'),
  ]) {
    last = (await publisher.publish(e)).seq;
  }
  await projector.waitForSequence(last);
});
after(async () => {
  await server.close();
  await projector.stop();
  await readModels.close();
  await t.cleanup();
});

describe('status server on a live bus', () => {
  it('GET /api/files/:id includes the file’s events from the stream', async () => {
    const body = (await (await fetch(`${server.url}/api/files/fail1`)).json()) as {
      events: { subject: string; event: EventEnvelope }[];
      jobs: unknown[];
    };
    assert.deepEqual(
      body.events.map((e) => e.subject),
      ['conform.evt.file.discovered.fail1', 'conform.evt.encode.failed.fail1'],
    );
  });

  it('POST control endpoints need the token and publish control.requested', async () => {
    const post = (path: string, token?: string, body?: unknown) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      });
    assert.equal((await post('/api/control/pause')).status, 401);
    assert.equal((await post('/api/control/pause', 'wrong')).status, 401);
    const bad = await post('/api/control/pause', TOKEN, { now: 'yes' });
    assert.equal(bad.status, 400);
    const ok = await post('/api/control/pause', TOKEN, { now: true });
    assert.equal(ok.status, 202);
    const { eventId } = (await ok.json()) as { eventId: string };
    const retry = await post('/api/files/fail1/retry', TOKEN);
    assert.equal(retry.status, 202);
    assert.equal((await post('/api/files/nobody/retry', TOKEN)).status, 404);
    const history = (await (await fetch(`${server.url}/api/files/fail1`)).json()) as {
      events: { event: EventEnvelope }[];
    };
    const control = history.events.map((e) => e.event).find((e) => e.type === 'control.requested');
    assert.equal(control?.type === 'control.requested' && control.data.action, 'retry');
    assert.match(eventId, /^[0-9a-f-]{36}$/);
  });

  it('POST /api/files/:id/retry authenticates before it looks the file up', async () => {
    const retry = (id: string, token?: string) =>
      fetch(`${server.url}/api/files/${id}/retry`, {
        method: 'POST',
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
    // Unknown and known ids answer alike without the token: no probing for which ids exist.
    assert.equal((await retry('nobody')).status, 401);
    assert.equal((await retry('fail1')).status, 401);
    assert.equal((await retry('nobody', 'wrong')).status, 401);
    assert.equal((await retry('nobody', TOKEN)).status, 404);
  });

  it('POST /api/files/:id/retry refuses a kept file unless forced, and a damaged one always', async () => {
    const planned = sampleEvent('file.planned', 'kept1');
    await publisher.publish(sampleEvent('file.discovered', 'kept1'));
    await publisher.publish(planned);
    const kept = await publisher.publish(sampleEvent('file.kept', 'kept1'));
    const damaged = await publisher.publish({
      ...sampleEvent('file.planned', 'bad1'),
      data: {
        ...sampleData['file.planned'],
        decision: 'damaged',
        target: null,
        reasons: ['the source failed its health check'],
        health: {
          mode: 'quick',
          checked: '0-30 s',
          errors: ['[h264 @ 0x1] corrupt macroblock'],
          errorCount: 3,
        },
      },
    });
    await projector.waitForSequence(Math.max(kept.seq, damaged.seq));
    const retry = (id: string, body?: unknown) =>
      fetch(`${server.url}/api/files/${id}/retry`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${TOKEN}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      });
    const refused = await retry('kept1');
    assert.equal(refused.status, 409);
    assert.match(
      ((await refused.json()) as { message: string }).message,
      /was kept: .*0\.97 of the source.*97 % of the source; the policy accepts at most 90 %.*A policy change .* plans it again by itself.*--force/,
    );
    const forced = await retry('kept1', { force: true });
    assert.equal(forced.status, 202);
    const { eventId } = (await forced.json()) as { eventId: string };
    const history = (await (await fetch(`${server.url}/api/files/kept1`)).json()) as {
      events: { event: EventEnvelope }[];
    };
    assert.ok(history.events.some((e) => e.event.id === eventId));
    for (const body of [undefined, { force: true }]) {
      const no = await retry('bad1', body);
      assert.equal(no.status, 409);
      assert.match(
        ((await no.json()) as { message: string }).message,
        /is damaged \(quick health check of 0-30 s: 3 decode error\(s\), first: \[h264 @ 0x1\] corrupt macroblock\): conform does not encode a damaged source.*health\.check: off/,
      );
    }
  });

  it('work no live node can take: /api/nodes says why, /metrics counts it', async () => {
    await provisionWorkStream(t.bus.jsm);
    const planned = sampleEvent('file.planned', 'av1job') as EventEnvelope<'file.planned'>;
    await publishWork(t.bus.js, 'gpu-av1', '1g', planned);
    const nodes = (await (await fetch(`${server.url}/api/nodes`)).json()) as {
      unserved: { pool: string; sizeClass: string; jobs: number; why: string }[];
    };
    assert.deepEqual(nodes.unserved, [
      {
        pool: 'gpu-av1',
        sizeClass: '1g',
        jobs: 1,
        why: 'no live encoder node serves pool gpu-av1',
      },
    ]);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /^conform_work_unserved_jobs\{pool="gpu-av1",size_class="1g"\} 1$/m);
  });

  it('POST /api/files/:id/restore asks for the original path of a replaced file only', async () => {
    const replaced = await publisher.publish(sampleEvent('file.replaced', 'swapped1'));
    await projector.waitForSequence(replaced.seq);
    const restore = (id: string) =>
      fetch(`${server.url}/api/files/${id}/restore`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
    const refused = await restore('fail1');
    assert.equal(refused.status, 409);
    assert.match(
      ((await refused.json()) as { message: string }).message,
      /no replacement to undo \(status failed\)/,
    );
    const ok = await restore('swapped1');
    assert.equal(ok.status, 202);
    const history = (await (await fetch(`${server.url}/api/files/swapped1`)).json()) as {
      events: { event: EventEnvelope }[];
    };
    const request = history.events.map((e) => e.event).find((e) => e.type === 'control.requested');
    assert.ok(request?.type === 'control.requested');
    assert.equal(request.data.action, 'restore');
    assert.equal(request.data.path, sampleData['file.replaced'].path);
  });

  it('closing one status server leaves another server’s event streams open', async () => {
    const other = await startStatusServer({ readModels, log: silentLogger(), bus: t.bus });
    const third = await startStatusServer({ readModels, log: silentLogger(), bus: t.bus });
    const controller = new AbortController();
    try {
      const res = await fetch(`${other.url}/api/events`, { signal: controller.signal });
      const reader = res.body!.getReader();
      const first = await reader.read();
      assert.match(new TextDecoder().decode(first.value), /connected/);
      await third.close();
      let seen = '';
      await eventually(async () => {
        await publisher.publish(sampleEvent('file.discovered', 'after1'));
        const { value, done } = await reader.read();
        assert.equal(done, false, 'the stream of the server still running was ended');
        seen += new TextDecoder().decode(value);
        return seen.includes('"fileId":"after1"');
      });
    } finally {
      controller.abort();
      await other.close();
    }
  });

  it('forgets an event stream once its client has gone', async () => {
    const clients = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      return Number(/^conform_live_clients (\d+)$/m.exec(text)?.[1] ?? NaN);
    };
    const before = await clients();
    assert.ok(Number.isInteger(before), 'conform_live_clients is exported');
    const controller = new AbortController();
    const res = await fetch(`${server.url}/api/events`, { signal: controller.signal });
    await res.body!.getReader().read();
    assert.equal(await clients(), before + 1);
    controller.abort();
    await eventually(async () => (await clients()) === before);
  });

  it('streams published events and encoder progress over SSE', async () => {
    const controller = new AbortController();
    const res = await fetch(`${server.url}/api/events`, { signal: controller.signal });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const reader = res.body!.getReader();
    let seen = '';
    // The subscription exists once the response started; publish until both kinds arrived.
    await publisher.publish(sampleEvent('file.discovered', 'sse1'));
    t.bus.nc.publish('conform.progress.enc1', JSON.stringify({ percent: 42, fps: 30 }));
    await eventually(async () => {
      const { value } = await reader.read();
      seen += new TextDecoder().decode(value);
      return seen.includes('"fileId":"sse1"') && seen.includes('"percent":42');
    });
    controller.abort();
    const summary = (await (await fetch(`${server.url}/api/summary`)).json()) as {
      activeEncodes: { fileId: string; progress: { percent: number } | null }[];
    };
    assert.equal(summary.activeEncodes[0]?.progress?.percent, 42);
  });

  it('serves an OpenAPI document and metrics with projection lag and bus series', async () => {
    const doc = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    assert.equal(doc.openapi, '3.0.3');
    assert.ok(doc.paths['/api/jobs'] && doc.paths['/api/control/pause']);
    // Generated from the route schemas: the query parameters are the ones the routes validate.
    const files = doc.paths['/api/files'] as {
      get: { parameters: { name: string; in: string; schema: { enum?: string[] } }[] };
    };
    const params = new Map(files.get.parameters.map((p) => [p.name, p]));
    assert.deepEqual([...params.keys()].sort(), [
      'library',
      'limit',
      'offset',
      'order',
      'q',
      'sort',
      'status',
    ]);
    assert.ok(params.get('status')?.schema.enum?.includes('dead-lettered'));
    for (const path of [
      '/api/queue',
      '/api/nodes',
      '/api/stats',
      '/api/dry-run',
      '/api/files/{id}/restore',
    ]) {
      assert.ok(doc.paths[path], `${path} is documented`);
    }
    assert.equal(doc.paths['/'], undefined, 'the dashboard itself is not an API route');
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(text, /^conform_projection_lag \d+$/m);
    assert.match(text, /^conform_files\{status="failed"\} 1$/m);
    assert.match(text, /^# TYPE conform_events_published_total counter$/m);
  });

  it('the dashboard shows tiles, the active encode, the failure with a retry button', async () => {
    const browser = await launchTestBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(server.url);
      await page.locator('[data-tile="encoding"] .value').filter({ hasText: '1' }).waitFor();
      assert.match(await page.locator('#active').innerText(), /Film\.mp4\s+libx265/);
      assert.equal(await page.locator('#active progress').getAttribute('value'), '42');
      assert.match(await page.locator('#failures').innerText(), /ffmpeg exited 1/);
      assert.match(await page.locator('#compliance').innerText(), /\/media\/movies/);
      await page.fill('#token', TOKEN);
      await page.locator('button[data-retry="fail1"]').click();
      await page.locator('button[data-retry="fail1"]', { hasText: 'Retry requested' }).waitFor();
      await publisher.publish(sampleEvent('file.discovered', 'shown1'));
      await page.locator('#events', { hasText: 'file.discovered' }).waitFor();
    } finally {
      await browser.close();
    }
  });
});
