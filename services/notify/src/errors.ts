/** Base of notify's errors; `code` is stable for programs to match on. */
export class NotifyError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NotifyError';
    this.code = code;
  }
}

/** The integrations config cannot run as written: e.g. an environment variable it names is unset. */
export class NotifyConfigError extends NotifyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NOTIFY_CONFIG', message, options);
    this.name = 'NotifyConfigError';
  }
}

/**
 * A target did not do what was asked. `status` is the HTTP status when it answered (null for a
 * timeout or a refused connection); `permanent` when asking again cannot help until someone
 * changes the config or the server (401, 403, 404, 400).
 */
export class IntegrationError extends NotifyError {
  readonly status: number | null;
  readonly permanent: boolean;
  constructor(
    message: string,
    opts: { status: number | null; permanent: boolean; cause?: unknown },
  ) {
    super(opts.permanent ? 'INTEGRATION_REFUSED' : 'INTEGRATION_UNAVAILABLE', message, {
      cause: opts.cause,
    });
    this.name = 'IntegrationError';
    this.status = opts.status;
    this.permanent = opts.permanent;
  }
}
