import type { MediaServerConfig } from '@conform/config';
import type { PathChange } from '../decide.js';
import { call } from '../http.js';
import { mapPath } from '../paths.js';
import type { Delivery, MediaServerAdapter } from './types.js';

const CLIENT_VERSION = '0.1.0';

/**
 * Jellyfin and Emby, which share their API lineage: `POST /Library/Media/Updated` with
 * `{"Updates":[{"Path","UpdateType"}]}` reports changed paths (both old and new after a
 * rename), and `GET /Sessions` lists sessions. Jellyfin takes the key in its current
 * `Authorization: MediaBrowser Token="…"` header; Emby in `X-Emby-Token`.
 */
export class MediaBrowserServer implements MediaServerAdapter {
  readonly name: string;
  readonly kind: 'jellyfin' | 'emby';

  constructor(
    private readonly config: MediaServerConfig & { kind: 'jellyfin' | 'emby' },
    private readonly apiKey: string,
    private readonly timeoutMs: number,
  ) {
    this.name = config.name;
    this.kind = config.kind;
  }

  async refresh(files: PathChange[][], signal?: AbortSignal): Promise<Delivery[]> {
    const mapped = files.map((changes) =>
      changes.map((c) => ({ Path: mapPath(c.path, this.config.pathMap), UpdateType: c.type })),
    );
    const answer = await call(
      {
        method: 'POST',
        url: `${this.config.url}/Library/Media/Updated`,
        headers: this.authHeaders(),
        json: { Updates: mapped.flat() },
        timeoutMs: this.timeoutMs,
        what: `${this.label()}: POST /Library/Media/Updated`,
      },
      signal,
    );
    return mapped.map((updates) => ({
      request: 'POST /Library/Media/Updated',
      status: answer.status,
      paths: updates.map((u) => u.Path),
    }));
  }

  async activeSessions(signal?: AbortSignal): Promise<number> {
    const answer = await call(
      {
        method: 'GET',
        url: `${this.config.url}/Sessions`,
        headers: this.authHeaders(),
        timeoutMs: this.timeoutMs,
        what: `${this.label()}: GET /Sessions`,
      },
      signal,
    );
    const sessions = Array.isArray(answer.json) ? (answer.json as SessionInfo[]) : [];
    // A session with a NowPlayingItem is playing (or paused mid-film: someone is still watching).
    return sessions.filter((s) => s && typeof s === 'object' && s.NowPlayingItem).length;
  }

  private authHeaders(): Record<string, string> {
    if (this.kind === 'emby') return { 'X-Emby-Token': this.apiKey };
    return {
      Authorization: `MediaBrowser Token="${this.apiKey}", Client="conform", Device="conform", DeviceId="conform-notify", Version="${CLIENT_VERSION}"`,
    };
  }

  private label(): string {
    return `${this.kind === 'emby' ? 'Emby' : 'Jellyfin'} ${this.name}`;
  }
}

interface SessionInfo {
  NowPlayingItem?: unknown;
}
