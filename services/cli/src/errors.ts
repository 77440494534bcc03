/** An error the CLI reports to the user as one line and turns into an exit code. */
export class CliError extends Error {
  readonly code: string;
  readonly exitCode: number;
  constructor(code: string, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options);
    this.name = 'CliError';
    this.code = code;
    this.exitCode = options?.exitCode ?? 1;
  }
}

/** A flag or argument is missing or malformed (exit code 2, like most CLIs' usage errors). */
export class UsageError extends CliError {
  constructor(message: string) {
    super('USAGE', message, { exitCode: 2 });
    this.name = 'UsageError';
  }
}
