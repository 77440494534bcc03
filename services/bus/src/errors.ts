/** Base of the bus's errors; `code` is stable for programs to match on. */
export class BusError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BusError';
    this.code = code;
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
