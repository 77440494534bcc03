import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  EventPublisher,
  eventually,
  provisionEventLog,
  silentLogger,
  startTestBus,
  type TestBus,
} from '@conform/bus';
import type { IntegrationsConfig } from '@conform/config';
import { startNotify } from '../src/index.js';
import { contextOf, eventsOfType, integrations, publishReplaced } from './bus-helpers.js';
import { fakeMediaBrowser, type FakeServer } from './fakes.js';

describe('notify added to an existing installation', () => {
  let t: TestBus;
  let publisher: EventPublisher;
  let jf: FakeServer;
  let config: IntegrationsConfig;

  before(async () => {
    t = await startTestBus('notify-start-test');
    await provisionEventLog(t.bus.jsm, { maxBytes: 64 * 1024 * 1024 });
    publisher = new EventPublisher(t.bus.js, { producer: 'archiver@test' });
    jf = await fakeMediaBrowser('jellyfin', 'k');
    config = integrations({
      batchWindowMs: 500,
      mediaServers: [{ name: 'jf', kind: 'jellyfin', url: jf.url, apiKeyEnv: 'K', pathMap: [] }],
    });
  });
  after(async () => {
    await jf?.close();
    await t?.cleanup();
  });

  const paths = () =>
    jf.requests.map((r) => (r.json as { Updates: { Path: string }[] }).Updates.map((u) => u.Path));
  const sentFor = async (id: string) =>
    (await eventsOfType(t, 'notify.sent')).filter((e) => e.causationId === id);

  it('acts on swaps from its first start on, not on the history; none is lost while it is down', async () => {
    await publishReplaced(publisher, 'fold', { path: '/m/old.avi', newPath: '/m/old.mkv' });
    const ctx = contextOf(t, publisher, silentLogger());
    const first = await startNotify(ctx, { integrations: config, env: { K: 'k' } });
    const now = await publishReplaced(publisher, 'fnew', {
      path: '/m/new.avi',
      newPath: '/m/new.mkv',
    });
    try {
      await eventually(async () => (await sentFor(now.id)).length === 1, { what: 'the new swap' });
    } finally {
      await first.stop();
    }
    // The old swap would have shared the new one's batch: it is not in it.
    assert.deepEqual(paths(), [['/m/new.avi', '/m/new.mkv']]);
    assert.equal((await eventsOfType(t, 'notify.sent')).length, 1);

    const whileDown = await publishReplaced(publisher, 'fdown', {
      path: '/m/d.avi',
      newPath: '/m/d.mkv',
    });
    const second = await startNotify(ctx, { integrations: config, env: { K: 'k' } });
    try {
      await eventually(async () => (await sentFor(whileDown.id)).length === 1, {
        what: 'the swap made while notify was down',
      });
    } finally {
      await second.stop();
    }
    assert.deepEqual(paths()[1], ['/m/d.avi', '/m/d.mkv']);
  });
});
