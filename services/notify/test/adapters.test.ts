import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { NotificationConfig } from '@conform/config';
import {
  Apprise,
  ArrApp,
  IntegrationError,
  MediaBrowserServer,
  PlexServer,
  signBody,
  SIGNATURE_HEADER,
  Webhook,
  type Message,
} from '../src/index.js';
import {
  fakeApprise,
  fakeArr,
  fakeMediaBrowser,
  fakePlex,
  fakeWebhook,
  type FakeServer,
} from './fakes.js';

const servers: FakeServer[] = [];
const track = async (s: Promise<FakeServer>) => {
  const server = await s;
  servers.push(server);
  return server;
};
after(async () => {
  for (const s of servers) await s.close();
});

const swap = [
  { path: '/media/movies/Film (2020)/Film.avi', type: 'Deleted' as const },
  { path: '/media/movies/Film (2020)/Film.mkv', type: 'Created' as const },
];
const message: Message = { title: 't', body: 'b', type: 'success' };

async function refused(p: Promise<unknown>): Promise<IntegrationError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof IntegrationError, String(err));
    return err;
  }
  assert.fail('expected the call to fail');
}

describe('Jellyfin and Emby', () => {
  for (const kind of ['jellyfin', 'emby'] as const) {
    it(`${kind}: POST /Library/Media/Updated with both paths, mapped, and the key header`, async () => {
      const fake = await track(fakeMediaBrowser(kind, 'k1'));
      const server = new MediaBrowserServer(
        {
          name: kind,
          kind,
          url: fake.url,
          apiKeyEnv: 'X',
          pathMap: [{ from: '/media', to: '/data' }],
        },
        'k1',
        2_000,
      );
      const [delivery] = await server.refresh([swap]);
      assert.deepEqual(delivery, {
        request: 'POST /Library/Media/Updated',
        status: kind === 'jellyfin' ? 204 : 200,
        paths: ['/data/movies/Film (2020)/Film.avi', '/data/movies/Film (2020)/Film.mkv'],
      });
      const [req] = fake.received('POST', '/Library/Media/Updated');
      assert.deepEqual(req?.json, {
        Updates: [
          { Path: '/data/movies/Film (2020)/Film.avi', UpdateType: 'Deleted' },
          { Path: '/data/movies/Film (2020)/Film.mkv', UpdateType: 'Created' },
        ],
      });
      if (kind === 'emby') assert.equal(req?.headers['x-emby-token'], 'k1');
      else
        assert.match(
          String(req?.headers.authorization),
          /^MediaBrowser Token="k1", Client="conform"/,
        );
    });
  }

  it('a wrong key is a permanent failure naming the status and what to check', async () => {
    const fake = await track(fakeMediaBrowser('jellyfin', 'right'));
    const server = new MediaBrowserServer(
      { name: 'jf', kind: 'jellyfin', url: fake.url, apiKeyEnv: 'X', pathMap: [] },
      'wrong',
      2_000,
    );
    const err = await refused(server.refresh([swap]));
    assert.equal(err.status, 401);
    assert.equal(err.permanent, true);
    assert.match(
      err.message,
      /^Jellyfin jf: POST \/Library\/Media\/Updated: HTTP 401 Unauthorized: the API key or token was refused/,
    );
    assert.doesNotMatch(err.message, /wrong/, 'the key is not in the message');
  });

  it('counts sessions that are playing something', async () => {
    const fake = await track(
      fakeMediaBrowser('jellyfin', 'k', () => [
        { Id: 'a', NowPlayingItem: { Name: 'Film' } },
        { Id: 'b' },
      ]),
    );
    const server = new MediaBrowserServer(
      { name: 'jf', kind: 'jellyfin', url: fake.url, apiKeyEnv: 'X', pathMap: [] },
      'k',
      2_000,
    );
    assert.equal(await server.activeSessions(), 1);
  });

  it('a server that does not answer in time, or is down, is worth retrying', async () => {
    const fake = await track(fakeMediaBrowser('emby', 'k'));
    fake.hang(true);
    const cfg = { name: 'emby', kind: 'emby' as const, url: fake.url, apiKeyEnv: 'X', pathMap: [] };
    const slow = await refused(new MediaBrowserServer(cfg, 'k', 300).refresh([swap]));
    assert.equal(slow.permanent, false);
    assert.equal(slow.status, null);
    assert.match(slow.message, /no answer within 0\.3 s/);
    const gone = await fakeWebhook();
    await gone.close(); // a port nothing listens on any more
    const down = await refused(
      new MediaBrowserServer({ ...cfg, url: gone.url }, 'k', 2_000).refresh([swap]),
    );
    assert.match(down.message, /could not connect: ECONNREFUSED/);
    assert.equal(down.permanent, false);
  });
});

describe('Plex', () => {
  const sections = [
    { key: '1', title: 'Movies', locations: ['/data/movies'] },
    { key: '2', title: 'TV', locations: ['/data/tv', '/data/tv2'] },
  ];
  it('refreshes the folder in the section holding it, once per folder, sections cached', async () => {
    const fake = await track(fakePlex('tok', sections));
    const plex = new PlexServer(
      {
        name: 'plex',
        kind: 'plex',
        url: fake.url,
        apiKeyEnv: 'X',
        pathMap: [{ from: '/media', to: '/data' }],
      },
      'tok',
      2_000,
    );
    const deliveries = await plex.refresh([
      swap,
      [{ path: '/media/tv2/Show/S01/e1.mkv', type: 'Modified' }],
      [{ path: '/media/tv2/Show/S01/e2.mkv', type: 'Modified' }],
    ]);
    assert.deepEqual(
      deliveries.map((d) => d.request),
      [
        'GET /library/sections/1/refresh?path=/data/movies/Film (2020)',
        'GET /library/sections/2/refresh?path=/data/tv2/Show/S01',
        'GET /library/sections/2/refresh?path=/data/tv2/Show/S01',
      ],
    );
    await plex.refresh([[{ path: '/media/movies/Other/o.mkv', type: 'Modified' }]]);
    assert.equal(fake.received('GET', '/library/sections').length, 1, 'sections are cached');
    const refreshes = fake.requests.filter((r) => r.path.endsWith('/refresh'));
    assert.deepEqual(
      refreshes.map((r) => [r.path, r.query.path, r.headers['x-plex-token']]),
      [
        ['/library/sections/1/refresh', '/data/movies/Film (2020)', 'tok'],
        ['/library/sections/2/refresh', '/data/tv2/Show/S01', 'tok'],
        ['/library/sections/1/refresh', '/data/movies/Other', 'tok'],
      ],
    );
    assert.ok(
      refreshes.every((r) => !('X-Plex-Token' in r.query)),
      'the token is not in the URL',
    );
  });

  it('a folder no section holds is a permanent failure listing the sections', async () => {
    const fake = await track(fakePlex('tok', sections));
    const plex = new PlexServer(
      { name: 'plex', kind: 'plex', url: fake.url, apiKeyEnv: 'X', pathMap: [] },
      'tok',
      2_000,
    );
    const err = await refused(plex.refresh([swap]));
    assert.equal(err.permanent, true);
    assert.match(
      err.message,
      /no library section holds \/media\/movies\/Film \(2020\); its sections hold \/data\/movies, \/data\/tv, \/data\/tv2 \(check pathMap\)/,
    );
    assert.equal(fake.received('GET', '/library/sections').length, 1);
    await refused(plex.refresh([swap]));
    assert.equal(
      fake.received('GET', '/library/sections').length,
      2,
      'a miss on the cached list fetches it again (the section may be new)',
    );
  });

  it('reads playing sessions from /status/sessions; a wrong token is a 401', async () => {
    const fake = await track(fakePlex('tok', sections, () => 2));
    const cfg = { name: 'plex', kind: 'plex' as const, url: fake.url, apiKeyEnv: 'X', pathMap: [] };
    assert.equal(await new PlexServer(cfg, 'tok', 2_000).activeSessions(), 2);
    const err = await refused(new PlexServer(cfg, 'bad', 2_000).activeSessions());
    assert.equal(err.status, 401);
  });
});

describe('Sonarr and Radarr', () => {
  it('Sonarr: finds the series by path and sends one RescanSeries per series', async () => {
    const fake = await track(
      fakeArr('sonarr', 'sk', [
        { id: 7, title: 'Show', path: '/tv/Show' },
        { id: 8, title: 'Show Two', path: '/tv/Show Two' },
      ]),
    );
    const sonarr = new ArrApp(
      {
        name: 'sonarr',
        kind: 'sonarr',
        url: fake.url,
        apiKeyEnv: 'X',
        pathMap: [{ from: '/media/tv', to: '/tv' }],
      },
      'sk',
      2_000,
    );
    const result = await sonarr.rescan([
      '/media/tv/Show/S01/e1.mkv',
      '/media/tv/Show/S01/e2.mkv',
      '/media/tv/Show Two/S01/e1.mkv',
      '/media/tv/Unknown/e1.mkv',
    ]);
    assert.deepEqual(
      result.map((d) => d?.request ?? null),
      ['RescanSeries 7', 'RescanSeries 7', 'RescanSeries 8', null],
    );
    const commands = fake.received('POST', '/api/v3/command');
    assert.deepEqual(
      commands.map((c) => c.json),
      [
        { name: 'RescanSeries', seriesId: 7 },
        { name: 'RescanSeries', seriesId: 8 },
      ],
    );
    assert.ok(commands.every((c) => c.headers['x-api-key'] === 'sk'));
    assert.equal(result[0]?.status, 201);
    // Fetched once per call at most, even for the path no series holds.
    assert.equal(fake.received('GET', '/api/v3/series').length, 1);
    await sonarr.rescan(['/media/tv/New Show/e1.mkv']);
    assert.equal(fake.received('GET', '/api/v3/series').length, 2, 'a miss fetches a fresh list');
  });

  it('Radarr: RescanMovie with movieId; a wrong key is a 401', async () => {
    const fake = await track(
      fakeArr('radarr', 'rk', [{ id: 3, title: 'Film', path: '/movies/Film (2020)' }]),
    );
    const cfg = {
      name: 'radarr',
      kind: 'radarr' as const,
      url: fake.url,
      apiKeyEnv: 'X',
      pathMap: [{ from: '/media/movies', to: '/movies' }],
    };
    const [d] = await new ArrApp(cfg, 'rk', 2_000).rescan(['/media/movies/Film (2020)/Film.mkv']);
    assert.equal(d?.request, 'RescanMovie 3');
    assert.deepEqual(fake.received('POST', '/api/v3/command')[0]?.json, {
      name: 'RescanMovie',
      movieId: 3,
    });
    const err = await refused(
      new ArrApp(cfg, 'nope', 2_000).rescan(['/media/movies/Film (2020)/Film.mkv']),
    );
    assert.equal(err.status, 401);
    assert.match(err.message, /^Radarr radarr: GET \/api\/v3\/movie: HTTP 401/);
  });
});

describe('webhook and Apprise', () => {
  const notification = (over: Partial<NotificationConfig>): NotificationConfig => ({
    name: 'n',
    kind: 'webhook',
    url: '',
    secretEnv: null,
    urlsEnv: null,
    key: null,
    tag: null,
    events: ['replaced'],
    templates: {},
    ...over,
  });

  it('webhook: POSTs the JSON body with an HMAC-SHA256 signature of exactly those bytes', async () => {
    const fake = await track(fakeWebhook());
    const hook = new Webhook(notification({ url: `${fake.url}/hook` }), 's3cret', 2_000);
    await hook.send(message, { event: 'replaced', bytesSaved: 5 });
    const [req] = fake.received('POST', '/hook');
    assert.deepEqual(req?.json, { event: 'replaced', bytesSaved: 5 });
    assert.equal(req?.headers[SIGNATURE_HEADER.toLowerCase()], signBody(req!.body, 's3cret'));
    assert.equal(req?.headers['x-conform-event'], 'replaced');
    assert.equal(req?.headers['content-type'], 'application/json');
  });

  it('Apprise: stateless POST /notify/ with the URLs; stateful POST /notify/{key} with the tag', async () => {
    const fake = await track(fakeApprise(['conform']));
    const stateless = new Apprise(
      notification({ kind: 'apprise', url: fake.url }),
      'ntfy://t',
      2_000,
    );
    assert.equal((await stateless.send(message, {})).status, 200);
    const keyed = new Apprise(
      notification({ kind: 'apprise', url: fake.url, key: 'conform', tag: 'media' }),
      null,
      2_000,
    );
    assert.equal((await keyed.send(message, {})).request, 'POST /notify/conform');
    assert.deepEqual(
      fake.requests.map((r) => [r.path, r.json]),
      [
        ['/notify/', { title: 't', body: 'b', type: 'success', format: 'text', urls: 'ntfy://t' }],
        [
          '/notify/conform',
          { title: 't', body: 'b', type: 'success', format: 'text', tag: 'media' },
        ],
      ],
    );
  });
});
