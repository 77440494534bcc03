/** Base of the encoder's errors; `code` is stable for programs to match on. */
export class EncoderError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EncoderError';
    this.code = code;
  }
}

/** The finished output could not be made durable (fsync or rename failed). */
export class OutputCommitError extends EncoderError {
  readonly outputPath: string;
  constructor(outputPath: string, options?: { cause?: unknown }) {
    const why = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super('OUTPUT_COMMIT', `could not commit encoded output ${outputPath}${why}`, options);
    this.name = 'OutputCommitError';
    this.outputPath = outputPath;
  }
}
