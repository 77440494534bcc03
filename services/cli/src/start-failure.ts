// What `conform up` says when a service's start fails: which service, and why in words a user
// can act on (nats.js says only "timeout" when a request went unanswered).
import { CliError } from './errors.js';

/** A service's start failed: which one, and why (the cause). */
export class ServiceStartFailed extends Error {
  constructor(
    readonly service: string,
    cause: unknown,
  ) {
    super(`${service}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'ServiceStartFailed';
  }
}

/**
 * The error a failed start ends with, the service it was (if known) and the underlying cause
 * (for the log). A CliError is already meant for the user and passes through as it is.
 */
export function startFailure(err: unknown): {
  error: CliError;
  service: string | undefined;
  cause: unknown;
} {
  const service = err instanceof ServiceStartFailed ? err.service : undefined;
  const cause = err instanceof ServiceStartFailed ? err.cause : err;
  if (cause instanceof CliError) return { error: cause, service, cause };
  const message = (cause as Error)?.message ?? String(cause);
  const why =
    (cause as Error)?.name === 'TimeoutError'
      ? `${message} (a NATS request got no answer in time)`
      : message;
  const error = new CliError(
    'START_FAILED',
    `conform could not start: ${service ? `the ${service}: ` : ''}${why}`,
    { cause },
  );
  return { error, service, cause };
}
