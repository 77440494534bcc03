import { ConformError } from '@conform/contracts';

/** An error the CLI reports to the user as one line and turns into an exit code. */
export class CliError extends ConformError {
  readonly exitCode: number;
  constructor(code: string, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(code, message, options);
    this.name = 'CliError';
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

/**
 * The exit code for any error a command let through: a CliError says its own; every other
 * ConformError (config, bus, media, ...) already carries a message meant for the user.
 */
export function exitCodeOf(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  return 1;
}
