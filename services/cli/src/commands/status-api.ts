import { CliError } from '../errors.js';
import { FLAG_ENV } from '../options.js';
import { DEFAULT_PORT } from '../settings.js';

/** The status server `--url` defaults to: this machine's, on CONFORM_PORT or the default. */
export function defaultStatusUrl(): string {
  // --url is the flag of these commands; CONFORM_PORT only says where conform up listens here.
  return `http://127.0.0.1:${process.env[FLAG_ENV.port] || DEFAULT_PORT}`;
}

/** GETs a JSON path of the status API, with errors that name the URL and what to do. */
export async function getStatusJson<T>(
  url: string,
  path: string,
): Promise<{ body: T; headers: Headers }> {
  const res = await fetch(new URL(path, url), { signal: AbortSignal.timeout(5_000) }).catch(
    (err: unknown) => {
      throw new CliError(
        'STATUS_UNREACHABLE',
        `no status server at ${url} (${(err as Error).message}); is conform up running? pass --url`,
        { cause: err },
      );
    },
  );
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as { message?: string } | null;
    throw new CliError(
      'STATUS_FAILED',
      `${url} answered ${res.status}${body?.message ? `: ${body.message}` : ''}`,
    );
  }
  return { body: (await res.json()) as T, headers: res.headers };
}
