import { ConformError } from '@conform/contracts';

/** Base of the status service's errors; `code` is stable for programs to match on. */
export class StatusServerError extends ConformError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'StatusServerError';
  }
}

/** The HTTP server could not bind (port taken, address not local, no permission). */
export class StatusListenError extends StatusServerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STATUS_LISTEN', message, options);
    this.name = 'StatusListenError';
  }
}
