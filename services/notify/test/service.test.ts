import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  EventPublisher,
  eventually,
  lastEventOf,
  startTestBus,
  type RunningService,
  type TestBus,
} from '@conform/bus';
import { sampleData } from '@conform/contracts';
import { signBody, startNotify } from '../src/index.js';
import {
  capturingLogger,
  consumerDrained,
  contextOf,
  eventsOfType,
  integrations,
  publishReplaced,
  rawLog,
} from './bus-helpers.js';
import {
  fakeApprise,
  fakeArr,
  fakeMediaBrowser,
  fakePlex,
  fakeWebhook,
  type FakeServer,
} from './fakes.js';

// Distinctive secrets: none of them may ever show up in a log line or an event.
const SECRETS = {
  JF_KEY: 'jf-secret-7f3a91c2',
  EMBY_KEY: 'emby-secret-55be01d4',
  PLEX_TOKEN: 'plex-secret-c0ffee42',
  SONARR_KEY: 'sonarr-secret-9d8e7f6a',
  RADARR_KEY: 'radarr-secret-1a2b3c4d',
  HOOK_SECRET: 'hook-secret-e5f6a7b8',
  APPRISE_URLS: 'ntfys://apprise-secret-topic-31337',
};

describe('notify on a real bus: a swap reaches every configured product exactly once', () => {
  let t: TestBus;
  let publisher: EventPublisher;
  let notify: RunningService;
  const captured = capturingLogger();
  let jf: FakeServer, emby: FakeServer, plex: FakeServer, sonarr: FakeServer, radarr: FakeServer;
  let hook: FakeServer, apprise: FakeServer;

  before(async () => {
    t = await startTestBus('notify-test');
    publisher = new EventPublisher(t.bus.js, { producer: 'archiver@test' });
    jf = await fakeMediaBrowser('jellyfin', SECRETS.JF_KEY);
    emby = await fakeMediaBrowser('emby', SECRETS.EMBY_KEY);
    plex = await fakePlex(SECRETS.PLEX_TOKEN, [
      { key: '1', title: 'Movies', locations: ['/data/movies'] },
      { key: '4', title: 'TV', locations: ['/data/tv'] },
    ]);
    sonarr = await fakeArr('sonarr', SECRETS.SONARR_KEY, [
      { id: 11, title: 'Show', path: '/tv/Show' },
    ]);
    radarr = await fakeArr('radarr', SECRETS.RADARR_KEY, [
      { id: 21, title: 'Film', path: '/movies/Film (2020)' },
    ]);
    hook = await fakeWebhook();
    apprise = await fakeApprise();
    const toData = [{ from: '/media', to: '/data' }];
    notify = await startNotify(contextOf(t, publisher, captured.log), {
      env: SECRETS,
      retryDelayMs: 100,
      integrations: integrations({
        mediaServers: [
          { name: 'jellyfin', kind: 'jellyfin', url: jf.url, apiKeyEnv: 'JF_KEY', pathMap: toData },
          { name: 'emby', kind: 'emby', url: emby.url, apiKeyEnv: 'EMBY_KEY', pathMap: [] },
          { name: 'plex', kind: 'plex', url: plex.url, apiKeyEnv: 'PLEX_TOKEN', pathMap: toData },
        ],
        arr: [
          {
            name: 'sonarr',
            kind: 'sonarr',
            url: sonarr.url,
            apiKeyEnv: 'SONARR_KEY',
            pathMap: [{ from: '/media/tv', to: '/tv' }],
          },
          {
            name: 'radarr',
            kind: 'radarr',
            url: radarr.url,
            apiKeyEnv: 'RADARR_KEY',
            pathMap: [{ from: '/media/movies', to: '/movies' }],
          },
        ],
        notifications: [
          {
            name: 'hook',
            kind: 'webhook',
            url: `${hook.url}/conform`,
            secretEnv: 'HOOK_SECRET',
            urlsEnv: null,
            key: null,
            tag: null,
            events: ['replaced', 'failed'],
            templates: {},
          },
          {
            name: 'apprise',
            kind: 'apprise',
            url: apprise.url,
            secretEnv: null,
            urlsEnv: 'APPRISE_URLS',
            key: null,
            tag: null,
            events: ['replaced'],
            templates: { replaced: { title: '{{file}} saved {{saved}}' } },
          },
        ],
      }),
    });
  });
  after(async () => {
    await notify?.stop();
    for (const s of [jf, emby, plex, sonarr, radarr, hook, apprise]) await s?.close();
    await t?.cleanup();
  });

  const sentFor = async (causationId: string) =>
    (await eventsOfType(t, 'notify.sent')).filter((e) => e.causationId === causationId);

  it('Show.avi → Show.mkv: one refresh per media server, one RescanSeries, nothing for Radarr', async () => {
    const library = '/media/tv';
    const path = '/media/tv/Show/Season 01/Show - S01E01.avi';
    const newPath = '/media/tv/Show/Season 01/Show - S01E01.mkv';
    await publisher.emit(
      {
        type: 'file.planned',
        data: { ...sampleData['file.planned'], library, path, reasons: ['video is mpeg4'] },
      },
      { fileId: 'fshow1' },
    );
    const replaced = await publishReplaced(publisher, 'fshow1', {
      library,
      path,
      newPath,
      originalSize: 900_000_000,
      newSize: 400_000_000,
      bytesSaved: 500_000_000,
    });
    const sent = await eventually(
      async () => {
        const s = await sentFor(replaced.id);
        return s.length === 6 ? s : null;
      },
      { what: 'notify.sent from six targets', timeoutMs: 20_000 },
    );
    assert.deepEqual(sent.map((e) => e.data.target).sort(), [
      'apprise',
      'emby',
      'hook',
      'jellyfin',
      'plex',
      'sonarr',
    ]);

    const updates = (s: FakeServer) => s.received('POST', '/Library/Media/Updated');
    assert.equal(updates(jf).length, 1);
    assert.deepEqual(updates(jf)[0]!.json, {
      Updates: [
        { Path: '/data/tv/Show/Season 01/Show - S01E01.avi', UpdateType: 'Deleted' },
        { Path: '/data/tv/Show/Season 01/Show - S01E01.mkv', UpdateType: 'Created' },
      ],
    });
    assert.equal(updates(emby).length, 1);
    assert.deepEqual(updates(emby)[0]!.json, {
      Updates: [
        { Path: path, UpdateType: 'Deleted' },
        { Path: newPath, UpdateType: 'Created' },
      ],
    });
    const refreshes = plex.requests.filter((r) => r.path.endsWith('/refresh'));
    assert.deepEqual(
      refreshes.map((r) => [r.path, r.query.path]),
      [['/library/sections/4/refresh', '/data/tv/Show/Season 01']],
    );
    assert.deepEqual(
      sonarr.received('POST', '/api/v3/command').map((r) => r.json),
      [{ name: 'RescanSeries', seriesId: 11 }],
    );
    const byTarget = new Map(sent.map((e) => [e.data.target, e.data]));
    assert.equal(byTarget.get('jellyfin')?.status, 204);
    assert.equal(byTarget.get('sonarr')?.request, 'RescanSeries 11');
    assert.equal(byTarget.get('sonarr')?.status, 201);

    // Radarr looked and owns nothing there: wait for its consumer to finish, then check.
    const seq = (await lastEventOf(t.bus, 'file.replaced', 'fshow1'))!.seq;
    await eventually(() => consumerDrained(t, 'notify-radarr-file-replaced', seq), {
      what: 'radarr to handle the swap',
    });
    assert.equal(radarr.received('GET', '/api/v3/movie').length, 1);
    assert.equal(radarr.received('POST', '/api/v3/command').length, 0);

    // The webhook got the event, file, bytes saved and the plan's reasons, signed.
    const [delivery] = hook.received('POST', '/conform');
    assert.equal(
      delivery?.headers['x-conform-signature'],
      signBody(delivery!.body, SECRETS.HOOK_SECRET),
    );
    const payload = delivery!.json as Record<string, unknown>;
    assert.equal(payload.event, 'replaced');
    assert.equal(payload.bytesSaved, 500_000_000);
    assert.deepEqual(payload.reasons, ['video is mpeg4']);
    assert.deepEqual(payload.file, {
      id: 'fshow1',
      library,
      path: newPath,
      previousPath: path,
      originalSize: 900_000_000,
      newSize: 400_000_000,
    });
    const [note] = apprise.received('POST', '/notify/');
    assert.deepEqual(note?.json, {
      title: 'Show - S01E01.mkv saved 476.8 MiB',
      body: `${newPath}: 476.8 MiB saved. video is mpeg4`,
      type: 'success',
      format: 'text',
      urls: SECRETS.APPRISE_URLS,
    });
  });

  it('a season swapped at once is one request per server, and a redelivery sends nothing twice', async () => {
    const before = { jf: jf.requests.length, plex: plex.requests.length };
    const folder = '/media/tv/Show/Season 02';
    const events = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        publishReplaced(publisher, `fshow2e${i}`, {
          library: '/media/tv',
          path: `${folder}/e${i}.mkv`,
          newPath: `${folder}/e${i}.mkv`,
        }),
      ),
    );
    const ids = new Set(events.map((e) => e.id));
    const jfSent = await eventually(
      async () => {
        const s = (await eventsOfType(t, 'notify.sent')).filter(
          (e) => ids.has(e.causationId ?? '') && e.data.target === 'jellyfin',
        );
        return s.length === 6 ? s : null;
      },
      { what: 'jellyfin told about six files', timeoutMs: 20_000 },
    );
    const posts = jf.requests.slice(before.jf);
    assert.equal(posts.length, 1, 'one POST for the whole season');
    assert.equal((posts[0]!.json as { Updates: unknown[] }).Updates.length, 6);
    assert.ok(jfSent.every((e) => e.data.batched === 6));
    await eventually(
      async () =>
        (await eventsOfType(t, 'notify.sent')).filter(
          (e) => ids.has(e.causationId ?? '') && e.data.target === 'plex',
        ).length === 6,
      { what: 'plex told about six files' },
    );
    const plexRefreshes = plex.requests
      .slice(before.plex)
      .filter((r) => r.path.endsWith('/refresh'));
    assert.deepEqual(
      plexRefreshes.map((r) => r.query.path),
      ['/data/tv/Show/Season 02'],
    );
    assert.equal(sonarr.received('POST', '/api/v3/command').length, 1, 'same names: no rescan');
  });

  it('no secret appears in any log line or event', async () => {
    const log = captured.lines.join('');
    const events = await rawLog(t);
    assert.ok(log.includes('notify targets'), 'the logs were captured');
    assert.ok(events.includes('notify.sent'), 'the events were read');
    for (const [name, value] of Object.entries(SECRETS)) {
      assert.ok(!log.includes(value), `${name} is in the logs`);
      assert.ok(!events.includes(value), `${name} is in an event`);
    }
  });
});
