/** Base of the verifier's errors; `code` is stable for programs to match on. */
export class VerifierError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VerifierError';
    this.code = code;
  }
}
