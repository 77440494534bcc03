import { ConformError } from '@conform/contracts';

/** A configuration file is unreadable or invalid; the message names the file, line and key. */
export class ConfigError extends ConformError {
  readonly file: string;
  readonly line: number | null;
  constructor(
    code: string,
    message: string,
    opts: { file: string; line?: number | null; cause?: unknown },
  ) {
    super(code, message, { cause: opts.cause });
    this.name = 'ConfigError';
    this.file = opts.file;
    this.line = opts.line ?? null;
  }
}
