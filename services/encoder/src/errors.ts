import { ConformError } from '@conform/contracts';

/** Base of the encoder's errors; `code` is stable for programs to match on. */
export class EncoderError extends ConformError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'EncoderError';
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

/** A built argument list breaks its profile's contract (a required flag is missing, 10 bit unsupported). */
export class EncodeProfileViolationError extends EncoderError {
  readonly encoder: string;
  constructor(encoder: string, problem: string, options?: { cause?: unknown }) {
    super('PROFILE_VIOLATION', `encoder ${encoder}: ${problem}`, options);
    this.name = 'EncodeProfileViolationError';
    this.encoder = encoder;
  }
}

/** No working encoder on this machine can produce what the plan asks for. */
export class NoEncoderError extends EncoderError {
  constructor(what: string, options?: { cause?: unknown }) {
    super('NO_ENCODER', `no working encoder for ${what}`, options);
    this.name = 'NoEncoderError';
  }
}
