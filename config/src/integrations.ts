// The `integrations:` section of quality.yaml, resolved: media servers, *arr apps,
// notifications and pausing while someone watches. The schema checks shapes; this file checks
// what a schema cannot (unique names, references between entries) and names file, line, key.

/** conform's folder `from` is the server's folder `to`. */
export interface PathMapping {
  from: string;
  to: string;
}

export interface MediaServerConfig {
  name: string;
  kind: 'jellyfin' | 'emby' | 'plex';
  url: string;
  /** Name of the environment variable holding the API key or Plex token (never the key). */
  apiKeyEnv: string;
  pathMap: PathMapping[];
}

export interface ArrConfig {
  name: string;
  kind: 'sonarr' | 'radarr';
  url: string;
  apiKeyEnv: string;
  pathMap: PathMapping[];
}

/** The events a notification can be sent for. */
export type NotificationEvent = 'replaced' | 'failed' | 'deadlettered' | 'summary';

export interface MessageTemplate {
  title?: string;
  body?: string;
}

export interface NotificationConfig {
  name: string;
  kind: 'webhook' | 'apprise';
  url: string;
  /** webhook: environment variable holding the HMAC-SHA256 key. */
  secretEnv: string | null;
  /** apprise: environment variable holding the Apprise URLs (stateless mode). */
  urlsEnv: string | null;
  /** apprise: saved configuration key (stateful mode). */
  key: string | null;
  tag: string | null;
  events: NotificationEvent[];
  templates: Partial<Record<NotificationEvent, MessageTemplate>>;
}

export interface PlaybackPauseConfig {
  /** Names of media servers whose sessions are polled. */
  servers: string[];
  graceMinutes: number;
  pollMs: number;
}

/** A validated `integrations:` section; empty lists when it is absent. */
export interface IntegrationsConfig {
  timeoutMs: number;
  batchWindowMs: number;
  batchMax: number;
  mediaServers: MediaServerConfig[];
  arr: ArrConfig[];
  notifications: NotificationConfig[];
  /** Local `HH:MM` of the daily summary, or null for none. */
  summaryAt: string | null;
  pauseWhilePlaying: PlaybackPauseConfig | null;
}

/** The section as the schema (with its defaults filled in) lets it through. */
export interface RawIntegrations {
  timeoutSeconds: number;
  batchSeconds: number;
  batchMax: number;
  mediaServers: MediaServerConfig[];
  arr: ArrConfig[];
  notifications: (Omit<NotificationConfig, 'secretEnv' | 'urlsEnv' | 'key' | 'tag' | 'templates'> &
    Partial<Pick<NotificationConfig, 'secretEnv' | 'urlsEnv' | 'key' | 'tag' | 'templates'>>)[];
  summary?: { at: string };
  pauseWhilePlaying?: { servers: string[]; graceMinutes: number; pollSeconds: number };
}

export const NO_INTEGRATIONS: IntegrationsConfig = {
  timeoutMs: 10_000,
  batchWindowMs: 2_000,
  batchMax: 16,
  mediaServers: [],
  arr: [],
  notifications: [],
  summaryAt: null,
  pauseWhilePlaying: null,
};

/** Resolves the section; `invalid(pointer, message)` builds the file:line error. */
export function resolveIntegrations(
  raw: RawIntegrations | undefined,
  invalid: (pointer: string, message: string) => Error,
): IntegrationsConfig {
  if (!raw) return NO_INTEGRATIONS;
  const seen = new Map<string, string>();
  const named = (list: { name: string }[], key: string) =>
    list.forEach((t, i) => {
      const at = `/integrations/${key}/${i}/name`;
      const first = seen.get(t.name);
      // Each target gets its own consumers (notify-<name>-<type>), so names must differ.
      if (first) throw invalid(at, `name "${t.name}" is already used by ${first}`);
      seen.set(t.name, `integrations.${key}[${i}]`);
    });
  named(raw.mediaServers, 'mediaServers');
  named(raw.arr, 'arr');
  named(raw.notifications, 'notifications');
  raw.notifications.forEach((n, i) => {
    if (n.kind === 'webhook' && (n.urlsEnv || n.key)) {
      throw invalid(
        `/integrations/notifications/${i}/${n.urlsEnv ? 'urlsEnv' : 'key'}`,
        'only for kind apprise; a webhook takes url and secretEnv',
      );
    }
    if (n.kind === 'apprise' && !n.urlsEnv === !n.key) {
      throw invalid(
        `/integrations/notifications/${i}${n.key ? '/key' : ''}`,
        'apprise takes exactly one of urlsEnv (stateless POST /notify/) or key (POST /notify/{key})',
      );
    }
    if (n.kind === 'apprise' && n.secretEnv) {
      throw invalid(
        `/integrations/notifications/${i}/secretEnv`,
        'only for kind webhook; apprise takes urlsEnv or key',
      );
    }
  });
  const playback = raw.pauseWhilePlaying;
  playback?.servers.forEach((name, i) => {
    if (!raw.mediaServers.some((m) => m.name === name)) {
      throw invalid(
        `/integrations/pauseWhilePlaying/servers/${i}`,
        `no media server named "${name}"; expected one of ${raw.mediaServers.map((m) => `"${m.name}"`).join(', ') || '(none configured under integrations.mediaServers)'}`,
      );
    }
  });
  if (raw.summary && !raw.notifications.some((n) => n.events.includes('summary'))) {
    throw invalid(
      '/integrations/summary',
      'no notification lists "summary" in its events, so the summary would go nowhere',
    );
  }
  return {
    timeoutMs: raw.timeoutSeconds * 1000,
    batchWindowMs: raw.batchSeconds * 1000,
    batchMax: raw.batchMax,
    mediaServers: raw.mediaServers.map((m) => ({ ...m, url: stripSlash(m.url) })),
    arr: raw.arr.map((a) => ({ ...a, url: stripSlash(a.url) })),
    notifications: raw.notifications.map((n) => ({
      name: n.name,
      kind: n.kind,
      url: n.kind === 'apprise' ? stripSlash(n.url) : n.url,
      secretEnv: n.secretEnv ?? null,
      urlsEnv: n.urlsEnv ?? null,
      key: n.key ?? null,
      tag: n.tag ?? null,
      events: n.events,
      templates: n.templates ?? {},
    })),
    summaryAt: raw.summary?.at ?? null,
    pauseWhilePlaying: playback
      ? {
          servers: playback.servers,
          graceMinutes: playback.graceMinutes,
          pollMs: playback.pollSeconds * 1000,
        }
      : null,
  };
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
