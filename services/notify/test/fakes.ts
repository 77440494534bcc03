// Real HTTP servers (node:http) implementing the documented endpoints of each product — method,
// path, auth header, body shape, status codes — and recording every request they receive.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
  body: string;
  json: unknown;
}

export interface FakeServer {
  url: string;
  requests: Recorded[];
  /** Requests other than the ones listed, e.g. without the session polls. */
  received(method: string, path: string): Recorded[];
  /** Makes every answer this status from now on (null: behave normally). */
  failWith(status: number | null): void;
  /** Stops answering (requests hang until the client gives up) while true. */
  hang(on: boolean): void;
  close(): Promise<void>;
}

type Route = (req: Recorded) => { status: number; json?: unknown } | null;

async function startFake(route: Route): Promise<FakeServer> {
  const requests: Recorded[] = [];
  let failure: number | null = null;
  let hanging = false;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown = null;
      try {
        json = body ? JSON.parse(body) : null;
      } catch {
        json = undefined; // not JSON
      }
      const r: Recorded = {
        method: req.method ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body,
        json,
      };
      requests.push(r);
      if (hanging) return; // never answer; the client's timeout must fire
      const answer = failure ? { status: failure } : (route(r) ?? { status: 404 });
      if (answer.json === undefined) {
        res.writeHead(answer.status).end();
      } else {
        res.writeHead(answer.status, { 'Content-Type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(answer.json));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    received: (method, path) => requests.filter((r) => r.method === method && r.path === path),
    failWith: (status) => (failure = status),
    hang: (on) => (hanging = on),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const UPDATE_TYPES = ['Created', 'Deleted', 'Modified'];

/**
 * Jellyfin or Emby: `POST /Library/Media/Updated` with `{Updates:[{Path, UpdateType}]}` →
 * 204 (Jellyfin) / 200 (Emby), 400 for a malformed body, 401 without the key; `GET /Sessions`
 * → a SessionInfo list. Jellyfin reads `Authorization: MediaBrowser Token="…"`, Emby
 * `X-Emby-Token`.
 */
export function fakeMediaBrowser(
  kind: 'jellyfin' | 'emby',
  apiKey: string,
  sessions: () => unknown[] = () => [],
): Promise<FakeServer> {
  return startFake((r) => {
    const token =
      kind === 'jellyfin'
        ? /(?:^|[\s,])Token="([^"]*)"/.exec(String(r.headers.authorization ?? ''))?.[1]
        : r.headers['x-emby-token'];
    if (token !== apiKey) return { status: 401 };
    if (r.method === 'POST' && r.path === '/Library/Media/Updated') {
      const updates = (r.json as { Updates?: { Path?: unknown; UpdateType?: unknown }[] })?.Updates;
      const ok =
        Array.isArray(updates) &&
        updates.length > 0 &&
        updates.every(
          (u) => typeof u.Path === 'string' && UPDATE_TYPES.includes(String(u.UpdateType)),
        );
      if (!ok || !String(r.headers['content-type']).startsWith('application/json')) {
        return { status: 400 };
      }
      return { status: kind === 'jellyfin' ? 204 : 200 };
    }
    if (r.method === 'GET' && r.path === '/Sessions') return { status: 200, json: sessions() };
    return null;
  });
}

/**
 * Plex: `GET /library/sections` → MediaContainer.Directory with each section's Location list;
 * `GET /library/sections/{key}/refresh?path=` → 200 (404 for an unknown section);
 * `GET /status/sessions` → MediaContainer with size and Metadata. Token: `X-Plex-Token`
 * header (or query parameter), else 401.
 */
export function fakePlex(
  token: string,
  sections: { key: string; title: string; locations: string[] }[],
  playing: () => number = () => 0,
): Promise<FakeServer> {
  return startFake((r) => {
    if ((r.headers['x-plex-token'] ?? r.query['X-Plex-Token']) !== token) return { status: 401 };
    if (r.method !== 'GET') return null;
    if (r.path === '/library/sections') {
      return {
        status: 200,
        json: {
          MediaContainer: {
            size: sections.length,
            Directory: sections.map((s) => ({
              key: s.key,
              title: s.title,
              type: 'movie',
              Location: s.locations.map((path, id) => ({ id, path })),
            })),
          },
        },
      };
    }
    const refresh = /^\/library\/sections\/([^/]+)\/refresh$/.exec(r.path);
    if (refresh) return { status: sections.some((s) => s.key === refresh[1]) ? 200 : 404 };
    if (r.path === '/status/sessions') {
      const n = playing();
      return {
        status: 200,
        json: {
          MediaContainer: {
            size: n,
            Metadata: Array.from({ length: n }, (_, i) => ({ sessionKey: String(i) })),
          },
        },
      };
    }
    return null;
  });
}

/**
 * Sonarr or Radarr v3: `GET /api/v3/series` / `/api/v3/movie` → the resources with id and path;
 * `POST /api/v3/command` with `{name: RescanSeries, seriesId}` / `{name: RescanMovie, movieId}`
 * → 201 and the queued command; 400 for another body; `X-Api-Key` (or `apikey` query) else 401.
 */
export function fakeArr(
  kind: 'sonarr' | 'radarr',
  apiKey: string,
  items: { id: number; title: string; path: string }[],
): Promise<FakeServer> {
  const list = kind === 'sonarr' ? '/api/v3/series' : '/api/v3/movie';
  const command = kind === 'sonarr' ? 'RescanSeries' : 'RescanMovie';
  const idKey = kind === 'sonarr' ? 'seriesId' : 'movieId';
  let commandId = 0;
  return startFake((r) => {
    if ((r.headers['x-api-key'] ?? r.query.apikey) !== apiKey) return { status: 401 };
    if (r.method === 'GET' && r.path === list) return { status: 200, json: items };
    if (r.method === 'POST' && r.path === '/api/v3/command') {
      const body = r.json as Record<string, unknown> | null;
      if (body?.name !== command || !items.some((i) => i.id === body[idKey])) {
        return { status: 400, json: [{ errorMessage: 'invalid command' }] };
      }
      return {
        status: 201,
        json: { id: ++commandId, name: command, status: 'queued', body },
      };
    }
    return null;
  });
}

/** A webhook receiver: answers 200 to any POST. */
export function fakeWebhook(): Promise<FakeServer> {
  return startFake((r) => (r.method === 'POST' ? { status: 200 } : null));
}

/**
 * The Apprise API: `POST /notify/` (stateless, `urls` and `body` required) and
 * `POST /notify/{KEY}` (`body` required; KEY 1-64 of [A-Za-z0-9_-]) → 200; 400 without a body.
 */
export function fakeApprise(keys: string[] = []): Promise<FakeServer> {
  return startFake((r) => {
    if (r.method !== 'POST') return null;
    const body = r.json as Record<string, unknown> | null;
    if (r.path === '/notify/' || r.path === '/notify') {
      return body?.body && body?.urls ? { status: 200 } : { status: 400 };
    }
    const key = /^\/notify\/([A-Za-z0-9_-]{1,64})$/.exec(r.path)?.[1];
    if (key && keys.includes(key)) return body?.body ? { status: 200 } : { status: 400 };
    return null;
  });
}
