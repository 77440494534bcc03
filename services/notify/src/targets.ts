import type { IntegrationsConfig, NotificationConfig } from '@conform/config';
import { ArrApp } from './adapters/arr.js';
import { Apprise } from './adapters/apprise.js';
import { MediaBrowserServer } from './adapters/media-browser.js';
import { PlexServer } from './adapters/plex.js';
import type { ArrAdapter, MediaServerAdapter, NotifierAdapter } from './adapters/types.js';
import { Webhook } from './adapters/webhook.js';
import { NotifyConfigError } from './errors.js';

/** Every configured target with its adapter, secrets read from the environment. */
export interface Targets {
  mediaServers: MediaServerAdapter[];
  arr: ArrAdapter[];
  notifiers: { adapter: NotifierAdapter; config: NotificationConfig }[];
}

/**
 * Builds the adapters. A secret is read from the environment variable the config names; an
 * unset one is an error naming the key and the variable (never a value).
 */
export function buildTargets(
  config: IntegrationsConfig,
  env: Record<string, string | undefined>,
): Targets {
  const secret = (name: string, key: string, variable: string): string => {
    const value = env[variable];
    if (!value) {
      throw new NotifyConfigError(
        `integrations: ${name}.${key} names the environment variable ${variable}, which is not set`,
      );
    }
    return value;
  };
  const t = config.timeoutMs;
  return {
    mediaServers: config.mediaServers.map((m) => {
      const key = secret(m.name, 'apiKeyEnv', m.apiKeyEnv);
      return m.kind === 'plex'
        ? new PlexServer(m, key, t)
        : new MediaBrowserServer({ ...m, kind: m.kind }, key, t);
    }),
    arr: config.arr.map((a) => new ArrApp(a, secret(a.name, 'apiKeyEnv', a.apiKeyEnv), t)),
    notifiers: config.notifications.map((n) => ({
      config: n,
      adapter:
        n.kind === 'webhook'
          ? new Webhook(n, n.secretEnv ? secret(n.name, 'secretEnv', n.secretEnv) : null, t)
          : new Apprise(n, n.urlsEnv ? secret(n.name, 'urlsEnv', n.urlsEnv) : null, t),
    })),
  };
}
