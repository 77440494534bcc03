import { ConformError } from '@conform/contracts';

/** Base of the verifier's errors; `code` is stable for programs to match on. */
export class VerifierError extends ConformError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'VerifierError';
  }
}
