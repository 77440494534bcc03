import { createHmac } from 'node:crypto';
import type { NotificationConfig } from '@conform/config';
import { call } from '../http.js';
import type { Message } from '../templates.js';
import type { Delivery, NotifierAdapter } from './types.js';

/** The header carrying `sha256=<hex HMAC-SHA256 of the raw body>` (GitHub's convention). */
export const SIGNATURE_HEADER = 'X-Conform-Signature';

/** HMAC-SHA256 of `body` under `secret`, as the signature header carries it. */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * A generic webhook: POST of a JSON body, signed when the config names a secret, so the
 * receiver can check it came from conform and was not altered.
 */
export class Webhook implements NotifierAdapter {
  readonly name: string;
  readonly kind = 'webhook' as const;

  constructor(
    private readonly config: NotificationConfig,
    private readonly secret: string | null,
    private readonly timeoutMs: number,
  ) {
    this.name = config.name;
  }

  async send(
    _message: Message,
    payload: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<Delivery> {
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'User-Agent': 'conform-notify',
      'X-Conform-Event': String(payload.event),
    };
    if (this.secret) headers[SIGNATURE_HEADER] = signBody(body, this.secret);
    const answer = await call(
      {
        method: 'POST',
        url: this.config.url,
        headers,
        body,
        timeoutMs: this.timeoutMs,
        what: `webhook ${this.name}: POST`,
      },
      signal,
    );
    return { request: 'POST webhook', status: answer.status, paths: [] };
  }
}
