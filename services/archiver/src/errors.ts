import { ConformError } from '@conform/contracts';

/** Base of the archiver's errors; `code` is stable for programs to match on. */
export class ArchiverError extends ConformError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ArchiverError';
  }
}

/**
 * The filesystem holds something the swap must not overwrite (a different file at the archive
 * or final path). Retrying cannot help, so it becomes a `replace.failed` and nothing is touched.
 */
export class SwapConflictError extends ArchiverError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SWAP_CONFLICT', message, options);
    this.name = 'SwapConflictError';
  }
}

/**
 * The filesystem moved under a step (a file vanished, a copy did not match its source). The
 * message is retried: the next delivery observes afresh and plans from what is there.
 */
export class SwapStepError extends ArchiverError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SWAP_STEP', message, options);
    this.name = 'SwapStepError';
  }
}
