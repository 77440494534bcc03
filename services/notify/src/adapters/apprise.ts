import type { NotificationConfig } from '@conform/config';
import { call } from '../http.js';
import type { Message } from '../templates.js';
import type { Delivery, NotifierAdapter } from './types.js';

/**
 * The Apprise API server, so every service Apprise supports works (Discord, Telegram, ntfy,
 * email, …): stateless `POST /notify/` with the Apprise URLs in the body, or
 * `POST /notify/{key}` for a configuration saved on the server (optionally by tag).
 */
export class Apprise implements NotifierAdapter {
  readonly name: string;
  readonly kind = 'apprise' as const;

  constructor(
    private readonly config: NotificationConfig,
    /** The Apprise URLs (they hold the services' tokens); null in stateful (key) mode. */
    private readonly urls: string | null,
    private readonly timeoutMs: number,
  ) {
    this.name = config.name;
  }

  async send(message: Message, _payload: unknown, signal?: AbortSignal): Promise<Delivery> {
    const stateful = this.config.key !== null;
    const path = stateful ? `/notify/${encodeURIComponent(this.config.key!)}` : '/notify/';
    const json: Record<string, string> = {
      title: message.title,
      body: message.body,
      type: message.type,
      format: 'text',
    };
    if (stateful && this.config.tag) json.tag = this.config.tag;
    if (!stateful) json.urls = this.urls ?? '';
    const answer = await call(
      {
        method: 'POST',
        url: `${this.config.url}${path}`,
        json,
        timeoutMs: this.timeoutMs,
        what: `Apprise ${this.name}: POST ${path}`,
      },
      signal,
    );
    return { request: `POST ${path}`, status: answer.status, paths: [] };
  }
}
