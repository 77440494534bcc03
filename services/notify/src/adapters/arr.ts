import type { ArrConfig } from '@conform/config';
import { call } from '../http.js';
import { isUnder, mapPath } from '../paths.js';
import type { ArrAdapter, Delivery } from './types.js';

/** How long the list of series/movies is trusted before it is fetched again. */
const LIST_TTL_MS = 5 * 60_000;

interface Owned {
  id: number;
  title: string;
  path: string;
}

const API = {
  sonarr: { list: '/api/v3/series', command: 'RescanSeries', idKey: 'seriesId' },
  radarr: { list: '/api/v3/movie', command: 'RescanMovie', idKey: 'movieId' },
} as const;

/**
 * Sonarr and Radarr (API v3): the series or movie owning a path is the one whose `path` holds
 * it (`GET /api/v3/series` / `/api/v3/movie`, cached, fetched again on a miss), then
 * `POST /api/v3/command` `{name: RescanSeries, seriesId}` / `{name: RescanMovie, movieId}`
 * with the `X-Api-Key` header.
 */
export class ArrApp implements ArrAdapter {
  readonly name: string;
  readonly kind: 'sonarr' | 'radarr';
  private list: { at: number; items: Owned[] } | null = null;

  constructor(
    private readonly config: ArrConfig,
    private readonly apiKey: string,
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.name = config.name;
    this.kind = config.kind;
  }

  async rescan(paths: string[], signal?: AbortSignal): Promise<(Delivery | null)[]> {
    const api = API[this.kind];
    const mapped = paths.map((p) => mapPath(p, this.config.pathMap));
    const owners: (Owned | null)[] = [];
    // The list is fetched again at most once per call: a miss may be a series added since.
    const round = { refetched: false };
    for (const p of mapped) owners.push(await this.ownerOf(p, round, signal));
    const sent = new Map<number, Delivery>();
    for (const owner of owners) {
      if (!owner || sent.has(owner.id)) continue;
      const answer = await call(
        {
          method: 'POST',
          url: `${this.config.url}/api/v3/command`,
          headers: { 'X-Api-Key': this.apiKey },
          json: { name: api.command, [api.idKey]: owner.id },
          timeoutMs: this.timeoutMs,
          what: `${this.kind === 'sonarr' ? 'Sonarr' : 'Radarr'} ${this.name}: ${api.command} ${owner.id} (${owner.title})`,
        },
        signal,
      );
      sent.set(owner.id, {
        request: `${api.command} ${owner.id}`,
        status: answer.status,
        paths: [],
      });
    }
    return owners.map((o, i) => (o ? { ...sent.get(o.id)!, paths: [mapped[i]!] } : null));
  }

  private async ownerOf(
    path: string,
    round: { refetched: boolean },
    signal?: AbortSignal,
  ): Promise<Owned | null> {
    const fresh = this.list && this.now() - this.list.at < LIST_TTL_MS;
    let owner = fresh ? holding(this.list!.items, path) : null;
    if (!owner && !round.refetched) {
      this.list = { at: this.now(), items: await this.fetchList(signal) };
      round.refetched = true;
      owner = holding(this.list.items, path);
    }
    return owner;
  }

  private async fetchList(signal?: AbortSignal): Promise<Owned[]> {
    const api = API[this.kind];
    const answer = await call(
      {
        method: 'GET',
        url: `${this.config.url}${api.list}`,
        headers: { 'X-Api-Key': this.apiKey },
        timeoutMs: this.timeoutMs,
        what: `${this.kind === 'sonarr' ? 'Sonarr' : 'Radarr'} ${this.name}: GET ${api.list}`,
      },
      signal,
    );
    const items = Array.isArray(answer.json) ? (answer.json as Partial<Owned>[]) : [];
    return items
      .filter((x) => typeof x.id === 'number' && typeof x.path === 'string')
      .map((x) => ({ id: x.id!, title: String(x.title ?? x.id), path: x.path! }));
  }
}

function holding(items: Owned[], path: string): Owned | null {
  let best: Owned | null = null;
  for (const item of items) {
    if (isUnder(path, item.path) && (!best || item.path.length > best.path.length)) best = item;
  }
  return best;
}
