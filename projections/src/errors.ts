import { ConformError } from '@conform/contracts';

/** Base of the projections' errors; `code` is stable for programs to match on. */
export class ProjectionError extends ConformError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ProjectionError';
  }
}

/** The SQLite file could not be opened or its tables could not be created. */
export class ReadModelOpenError extends ProjectionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('READ_MODEL_OPEN', message, options);
    this.name = 'ReadModelOpenError';
  }
}

/** `waitForSequence` gave up before the projector applied the sequence asked for. */
export class ProjectorWaitTimeoutError extends ProjectionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PROJECTOR_WAIT_TIMEOUT', message, options);
    this.name = 'ProjectorWaitTimeoutError';
  }
}

/** The projector was stopped while someone still waited on it. */
export class ProjectorStoppedError extends ProjectionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PROJECTOR_STOPPED', message, options);
    this.name = 'ProjectorStoppedError';
  }
}

/** Rebuilding the read models from the event log failed; the live database is untouched. */
export class ReplayError extends ProjectionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('REPLAY', message, options);
    this.name = 'ReplayError';
  }
}
