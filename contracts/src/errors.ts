/** Base of every error conform's contracts raise; `code` is stable for programs to match on. */
export class ConformError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConformError';
    this.code = code;
  }
}

/** A message does not match the schema of the event type it claims to be. */
export class ContractViolationError extends ConformError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONTRACT_VIOLATION', message, options);
    this.name = 'ContractViolationError';
  }
}
