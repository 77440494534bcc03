import { IntegrationError } from './errors.js';

/** One HTTP call to an integration. Secrets go in `headers` or `body`, never in `url`. */
export interface HttpCall {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is (e.g. a signed body, where the bytes must match the signature). */
  body?: string;
  timeoutMs: number;
  /** What is being done, for error messages: "Jellyfin jf: POST /Library/Media/Updated". */
  what: string;
}

export interface HttpAnswer {
  status: number;
  /** Parsed JSON when the answer was JSON, else null. */
  json: unknown;
}

/** What an HTTP status means for this call, in words a user can act on. */
const MEANING: Record<number, string> = {
  400: 'the request was refused as malformed',
  401: 'the API key or token was refused (check the environment variable the config names)',
  403: 'the API key or token has no permission for this',
  404: 'not found (check the URL and the API version)',
};

/**
 * Makes the call with Node's fetch and a timeout. A 2xx answer resolves; anything else throws
 * an {@link IntegrationError}: 4xx (except 408/429) as permanent, 5xx, timeouts and refused
 * connections as worth retrying.
 */
export async function call(c: HttpCall, signal?: AbortSignal): Promise<HttpAnswer> {
  const timeout = AbortSignal.timeout(c.timeoutMs);
  const headers: Record<string, string> = { Accept: 'application/json', ...c.headers };
  let body: string | undefined = c.body;
  if (c.json !== undefined) {
    body = JSON.stringify(c.json);
    headers['Content-Type'] = 'application/json';
  }
  let res: Response;
  try {
    res = await fetch(c.url, {
      method: c.method,
      headers,
      body,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    const why = timeout.aborted
      ? `no answer within ${c.timeoutMs / 1000} s`
      : `could not connect: ${causeOf(err)}`;
    throw new IntegrationError(`${c.what}: ${why}`, { status: null, permanent: false, cause: err });
  }
  const text = await res.text().catch(() => '');
  if (!res.ok) {
    const permanent = res.status >= 400 && res.status < 500 && ![408, 429].includes(res.status);
    const meaning = MEANING[res.status] ?? (permanent ? 'refused' : 'the server failed');
    throw new IntegrationError(
      `${c.what}: HTTP ${res.status} ${res.statusText}: ${meaning}`.replace(/\s+:/g, ':'),
      { status: res.status, permanent },
    );
  }
  let json: unknown = null;
  if (text && (res.headers.get('content-type') ?? '').includes('json')) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  return { status: res.status, json };
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message ?? String(err);
}
