import { ConformError } from '@conform/contracts';

/** Base of the bus's errors; `code` is stable for programs to match on. */
export class BusError extends ConformError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'BusError';
  }
}

/**
 * A handler failure worth retrying later (a busy disk, a flaky mount). The worker naks the
 * message with `delayMs` and, once deliveries run out, dead-letters it.
 */
export class TransientError extends BusError {
  readonly delayMs: number;
  constructor(message: string, options?: { cause?: unknown; delayMs?: number }) {
    super('TRANSIENT', message, options);
    this.name = 'TransientError';
    this.delayMs = options?.delayMs ?? 5_000;
  }
}

/**
 * Not a failure: the message is not due yet (e.g. a file held back for a while). The worker
 * gives it back with `delayMs` and logs it as deferred; it still uses one delivery.
 */
export class DeferError extends TransientError {
  constructor(message: string, options: { delayMs: number }) {
    super(message, options);
    this.name = 'DeferError';
  }
}

/** The nats-server child could not be started or did not become ready. */
export class NatsServerStartError extends BusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NATS_SERVER_START', message, options);
    this.name = 'NatsServerStartError';
  }
}

/** Publishing was refused: the event is invalid or the stream did not store it. */
export class PublishError extends BusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PUBLISH', message, options);
    this.name = 'PublishError';
  }
}

/** Another live conform process holds the state directory (and its JetStream store). */
export class StateDirLockedError extends BusError {
  readonly pid: number;
  constructor(stateDir: string, pid: number) {
    super(
      'STATE_DIR_LOCKED',
      `state directory ${stateDir} is in use by another conform process (pid ${pid}); ` +
        `stop that one first or give this one another --state-dir`,
    );
    this.name = 'StateDirLockedError';
    this.pid = pid;
  }
}
