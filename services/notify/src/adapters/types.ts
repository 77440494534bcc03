import type { PathChange } from '../decide.js';
import type { Message } from '../templates.js';

/** One request a target accepted: what it was, its answer, and the paths it covered. */
export interface Delivery {
  /** e.g. `POST /Library/Media/Updated`, `GET /library/sections/2/refresh`, `RescanSeries 12`. */
  request: string;
  status: number;
  /** Paths as the target sees them. */
  paths: string[];
}

/** A media server (Jellyfin, Emby, Plex). */
export interface MediaServerAdapter {
  readonly name: string;
  readonly kind: 'jellyfin' | 'emby' | 'plex';
  /**
   * Tells the server about several files' changes at once (conform paths); returns, for each
   * file in order, the delivery that covered it. Throws an IntegrationError when it failed.
   */
  refresh(files: PathChange[][], signal?: AbortSignal): Promise<Delivery[]>;
  /** How many sessions are playing something now. */
  activeSessions(signal?: AbortSignal): Promise<number>;
}

/** An *arr app (Sonarr, Radarr). */
export interface ArrAdapter {
  readonly name: string;
  readonly kind: 'sonarr' | 'radarr';
  /**
   * Asks the app to rescan the series/movie owning each path (conform paths), once per owner;
   * null for a path the app does not own.
   */
  rescan(paths: string[], signal?: AbortSignal): Promise<(Delivery | null)[]>;
}

/** A notification channel (webhook, Apprise). */
export interface NotifierAdapter {
  readonly name: string;
  readonly kind: 'webhook' | 'apprise';
  send(message: Message, payload: Record<string, unknown>, signal?: AbortSignal): Promise<Delivery>;
}
