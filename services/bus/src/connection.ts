import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { BusError } from './errors.js';
import type { Logger } from './logging.js';

/** An open connection with its JetStream client and manager. */
export interface Bus {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  close(): Promise<void>;
}

/**
 * How a long-running service waits for NATS at start-up: it retries with exponential backoff
 * and logs each wait, so a stack can start in any order (compose's `depends_on` health
 * conditions need a healthcheck runner that podman without systemd does not have).
 */
export interface ConnectRetry {
  log: Logger;
  /** Aborting (SIGTERM while waiting) stops the wait with a NATS_WAIT_ABORTED error. */
  signal?: AbortSignal;
  /** First pause between attempts (default 500 ms); doubles up to `maxDelayMs` (default 10 s). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Give up (NATS_UNREACHABLE) once this long has passed; default: wait as long as it takes. */
  timeoutMs?: number;
}

export interface ConnectBusOptions {
  servers: string;
  name: string;
  /** Without it one attempt is made and its failure thrown (for one-shot commands). */
  retry?: ConnectRetry;
  /**
   * How long a JetStream API request or publish waits for its answer (nats.js: 5 s). Services
   * pass {@link SERVICE_API_TIMEOUT_MS}.
   */
  apiTimeoutMs?: number;
}

/**
 * The JetStream answer time a long-running service allows. nats-server 2.9 answers a
 * connection's API requests one by one, and right after restoring a large store, on a busy
 * machine, a consumer lookup over a million events took over 5 s while the server worked on:
 * nats.js's 5 s made `conform up` fail to start on a log it would have served a moment later.
 * The price: a request lost with a dropped connection waits this long before it fails and is
 * retried (nats.js keeps requests over a reconnect).
 */
export const SERVICE_API_TIMEOUT_MS = 20_000;

/** The pause before retry number `attempt` (1-based): doubling from `initial`, capped at `max`. */
export function retryDelayMs(attempt: number, initial = 500, max = 10_000): number {
  return Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
}

/**
 * Connects to NATS (comma-separated URLs allowed) and checks JetStream is enabled. With
 * `retry`, an unreachable server or one whose JetStream is not up yet is waited for; a
 * refused login is not, since waiting cannot fix it.
 */
export async function connectBus(opts: ConnectBusOptions): Promise<Bus> {
  const retry = opts.retry;
  const deadline = retry?.timeoutMs === undefined ? Infinity : Date.now() + retry.timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      const bus = await connectOnce(opts);
      if (retry && attempt > 1) {
        retry.log.info({ servers: opts.servers, attempts: attempt }, 'connected to NATS');
      }
      return bus;
    } catch (err) {
      if (!retry || (err instanceof BusError && err.code === 'NATS_AUTH')) throw err;
      const delay = retryDelayMs(attempt, retry.initialDelayMs, retry.maxDelayMs);
      if (Date.now() + delay > deadline) {
        throw new BusError(
          (err as BusError).code ?? 'NATS_UNREACHABLE',
          `${(err as Error).message} (gave up after ${attempt} attempts in ${Math.round(retry.timeoutMs! / 1000)} s)`,
          { cause: err },
        );
      }
      retry.log.warn(
        { servers: opts.servers, attempt, retryInMs: delay, reason: (err as Error).message },
        'waiting for NATS',
      );
      try {
        await sleep(delay, undefined, { signal: retry.signal });
      } catch {
        throw new BusError(
          'NATS_WAIT_ABORTED',
          `stopped while waiting for NATS at ${opts.servers} (${attempt} attempts)`,
          { cause: err },
        );
      }
    }
  }
}

async function connectOnce(opts: ConnectBusOptions): Promise<Bus> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: opts.servers.split(',').map((s) => s.trim()),
      name: opts.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1_000,
      // Without this every request (each JetStream publish) builds an Error up front for its
      // stack, in case it fails: a 100,000-file scan spent 6 % of its CPU on those.
      noAsyncTraces: true,
    });
  } catch (err) {
    const message = (err as Error).message;
    throw new BusError(
      /authoriz|authenticat|permission/i.test(message) ? 'NATS_AUTH' : 'NATS_UNREACHABLE',
      `cannot connect to NATS at ${opts.servers}: ${message}`,
      { cause: err },
    );
  }
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc, opts.apiTimeoutMs ? { timeout: opts.apiTimeoutMs } : {});
  } catch (err) {
    await nc.close();
    throw new BusError(
      'JETSTREAM_UNAVAILABLE',
      `NATS at ${opts.servers} has no JetStream (start nats-server with -js): ${(err as Error).message}`,
      { cause: err },
    );
  }
  const js = jetstream(nc, opts.apiTimeoutMs ? { timeout: opts.apiTimeoutMs } : {});
  return {
    nc,
    js,
    jsm,
    close: async () => {
      if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
    },
  };
}
