import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  EventPublisher,
  eventually,
  startTestBus,
  type RunningService,
  type TestBus,
} from '@conform/bus';
import { NotifyConfigError, startNotify } from '../src/index.js';
import {
  capturingLogger,
  contextOf,
  eventsOfType,
  integrations,
  publishReplaced,
  rawLog,
} from './bus-helpers.js';
import { fakeMediaBrowser, fakePlex, fakeWebhook, type FakeServer } from './fakes.js';

const SECRETS = { BAD_KEY: 'refused-secret-0badc0de', OK_TOKEN: 'ok-secret-600dcafe', K: 'k-x' };

describe('notify when integrations fail: a clear event, retries, dead letters, nothing blocked', () => {
  let t: TestBus;
  let publisher: EventPublisher;
  let notify: RunningService;
  const captured = capturingLogger();
  let badKey: FakeServer, slow: FakeServer, ok: FakeServer, downUrl: string;

  before(async () => {
    t = await startTestBus('notify-failures-test');
    publisher = new EventPublisher(t.bus.js, { producer: 'archiver@test' });
    badKey = await fakeMediaBrowser('jellyfin', 'the-right-key');
    slow = await fakeMediaBrowser('emby', SECRETS.K);
    slow.hang(true);
    ok = await fakePlex(SECRETS.OK_TOKEN, [{ key: '1', title: 'Movies', locations: ['/media'] }]);
    const gone = await fakeWebhook();
    downUrl = gone.url;
    await gone.close(); // nothing listens there any more: "the server is down"
    notify = await startNotify(contextOf(t, publisher, captured.log), {
      env: SECRETS,
      maxDeliver: 3,
      retryDelayMs: 100,
      integrations: integrations({
        timeoutMs: 500,
        batchWindowMs: 50,
        mediaServers: [
          {
            name: 'jf-badkey',
            kind: 'jellyfin',
            url: badKey.url,
            apiKeyEnv: 'BAD_KEY',
            pathMap: [],
          },
          { name: 'emby-slow', kind: 'emby', url: slow.url, apiKeyEnv: 'K', pathMap: [] },
          { name: 'emby-down', kind: 'emby', url: downUrl, apiKeyEnv: 'K', pathMap: [] },
          { name: 'plex-ok', kind: 'plex', url: ok.url, apiKeyEnv: 'OK_TOKEN', pathMap: [] },
        ],
      }),
    });
  });
  after(async () => {
    await notify?.stop();
    for (const s of [badKey, slow, ok]) await s?.close();
    await t?.cleanup();
  });

  it('401 is final at once; timeouts and a dead server are retried, then dead-lettered', async () => {
    const replaced = await publishReplaced(publisher, 'ffail1', {
      library: '/media',
      path: '/media/Film/Film.avi',
      newPath: '/media/Film/Film.mkv',
    });
    const failedFor = async (target: string) =>
      (await eventsOfType(t, 'notify.failed')).filter(
        (e) => e.data.target === target && e.fileId === 'ffail1',
      );
    const deadLetters = await eventually(
      async () => {
        const dl = (await eventsOfType(t, 'message.deadlettered')).filter((e) =>
          e.data.consumer.startsWith('notify-emby-'),
        );
        return dl.length === 2 ? dl : null;
      },
      { what: 'both emby consumers to dead-letter the swap', timeoutMs: 30_000 },
    );
    assert.deepEqual(deadLetters.map((d) => d.data.consumer).sort(), [
      'notify-emby-down-file-replaced',
      'notify-emby-slow-file-replaced',
    ]);

    const down = await failedFor('emby-down');
    assert.deepEqual(
      down.map((e) => [e.data.attempt, e.data.final, e.data.status]),
      [
        [1, false, null],
        [2, false, null],
        [3, true, null],
      ],
    );
    assert.match(
      down[0]!.data.reason,
      /^Emby emby-down: POST \/Library\/Media\/Updated: could not connect: ECONNREFUSED$/,
    );
    const slowFailures = await failedFor('emby-slow');
    assert.equal(slowFailures.length, 3);
    assert.match(slowFailures[0]!.data.reason, /no answer within 0\.5 s/);

    const refused = await failedFor('jf-badkey');
    assert.equal(refused.length, 1, 'a 401 is not retried');
    assert.deepEqual([refused[0]!.data.status, refused[0]!.data.final], [401, true]);
    assert.match(
      refused[0]!.data.reason,
      /HTTP 401 Unauthorized: the API key or token was refused/,
    );
    assert.equal(badKey.received('POST', '/Library/Media/Updated').length, 1);

    // Plex was told at once, long before the others gave up.
    const sent = (await eventsOfType(t, 'notify.sent')).filter(
      (e) => e.causationId === replaced.id,
    );
    assert.deepEqual(
      sent.map((e) => e.data.target),
      ['plex-ok'],
    );
    const finalFailure = [...down, ...slowFailures].find((e) => e.data.final)!;
    assert.ok(
      Date.parse(sent[0]!.time) < Date.parse(finalFailure.time),
      'plex-ok was told before the failing servers gave up',
    );
  });

  it('an unset secret variable stops notify at start with the key and the variable named', async () => {
    await assert.rejects(
      startNotify(contextOf(t, publisher, captured.log), {
        env: {},
        integrations: integrations({
          arr: [
            {
              name: 'sonarr',
              kind: 'sonarr',
              url: 'http://s:8989',
              apiKeyEnv: 'SONARR_API_KEY',
              pathMap: [],
            },
          ],
        }),
      }),
      (err: unknown) =>
        err instanceof NotifyConfigError &&
        err.message ===
          'integrations: sonarr.apiKeyEnv names the environment variable SONARR_API_KEY, which is not set',
    );
  });

  it('the refused key is in no log line or event', async () => {
    const log = captured.lines.join('');
    assert.ok(log.includes('integration failed'), 'failures were logged');
    for (const value of Object.values(SECRETS)) {
      assert.ok(!log.includes(value), `${value} is in the logs`);
      assert.ok(!(await rawLog(t)).includes(value), `${value} is in an event`);
    }
  });
});
