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
import { sampleData, subjectFor } from '@conform/contracts';
import type { NotificationConfig } from '@conform/config';
import { eventsOn, startSummaries, SUMMARY_FILE_ID, Webhook } from '../src/index.js';
import { contextOf, publishReplaced } from './bus-helpers.js';
import { fakeWebhook, type FakeServer } from './fakes.js';

describe('daily summary', () => {
  let t: TestBus;
  let publisher: EventPublisher;
  let hook: FakeServer;

  before(async () => {
    t = await startTestBus('notify-summary-test');
    await provisionEventLog(t.bus.jsm, { maxBytes: 64 * 1024 * 1024 });
    publisher = new EventPublisher(t.bus.js, { producer: 'test@host' });
    hook = await fakeWebhook();
  });
  after(async () => {
    await hook?.close();
    await t?.cleanup();
  });

  const target = (name: string): { adapter: Webhook; config: NotificationConfig } => {
    const config: NotificationConfig = {
      name,
      kind: 'webhook',
      url: `${hook.url}/${name}`,
      secretEnv: null,
      urlsEnv: null,
      key: null,
      tag: null,
      events: ['summary'],
      templates: { summary: { body: '{{replaced}} replaced, {{saved}} saved, {{failed}} failed' } },
    };
    return { config, adapter: new Webhook(config, null, 2_000) };
  };

  it('counts the last day from the log, sends it once a day, and records it', async () => {
    await publishReplaced(publisher, 'fsum1', { bytesSaved: 1024 ** 3 });
    await publishReplaced(publisher, 'fsum2', { bytesSaved: 1024 ** 3 });
    await publisher.emit(
      { type: 'encode.failed', data: sampleData['encode.failed'] },
      { fileId: 'fsum3' },
    );
    const ctx = contextOf(t, publisher, silentLogger());
    const opts = { at: '00:00', checkMs: 100, maxAttempts: 3, log: silentLogger() };
    const first = await startSummaries(ctx, [target('daily')], opts);
    try {
      const [req] = await eventually(
        () => {
          const r = hook.received('POST', '/daily');
          return r.length > 0 ? r : null;
        },
        { what: 'the summary' },
      );
      const body = req!.json as {
        event: string;
        summary: Record<string, unknown>;
        message: string;
      };
      assert.equal(body.event, 'summary');
      assert.deepEqual(
        { ...body.summary, day: undefined },
        { day: undefined, replaced: 2, bytesSaved: 2 * 1024 ** 3, failed: 1, deadLettered: 0 },
      );
      assert.equal(body.message, '2 replaced, 2.0 GiB saved, 1 failed');
      await eventually(
        async () =>
          (await eventsOn(t.bus, subjectFor('notify.sent', SUMMARY_FILE_ID))).length === 1,
        { what: 'the summary recorded' },
      );
    } finally {
      await first.stop();
    }
    // A restart (or a second instance) sends a new target its summary but not the first again.
    const second = await startSummaries(ctx, [target('daily'), target('late')], opts);
    try {
      await eventually(() => hook.received('POST', '/late').length === 1, { what: 'the late one' });
      assert.equal(hook.received('POST', '/daily').length, 1);
    } finally {
      await second.stop();
    }
  });
});
