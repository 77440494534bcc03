/** Base of the status service's errors; `code` is stable for programs to match on. */
export class StatusServerError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StatusServerError';
    this.code = code;
  }
}

/** The HTTP server could not bind (port taken, address not local, no permission). */
export class StatusListenError extends StatusServerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STATUS_LISTEN', message, options);
    this.name = 'StatusListenError';
  }
}
