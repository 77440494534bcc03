import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';

/** What readiness reports: ready only with no reason against it. */
export interface HealthReport {
  ready: boolean;
  /** Why not ready, one sentence each (empty when ready). */
  reasons: string[];
}

/** A named check: a reason it is failing, or null when it is fine. */
export type HealthCheck = () => Promise<string | null>;

/** Consecutive failed pull loops after which a consumer counts as failing. */
export const CONSUMER_FAILURE_THRESHOLD = 3;
/** How long one async check may take before it counts as failing (a hung server). */
const CHECK_TIMEOUT_MS = 2_000;

/**
 * The truth behind `/readyz` and `conform_ready`: whether the NATS connection is up (from the
 * client's own status events: disconnect, reconnect, stale connection), whether any consumer
 * loop keeps failing, and any extra check (projection lag). Liveness is not its business: a
 * process that waits for NATS to come back is alive, just not ready.
 */
export class BusHealth {
  private connected = true;
  private since = Date.now();
  private lastStatus = 'connected';
  private readonly failing = new Map<string, { count: number; last: string }>();
  private readonly checks = new Map<string, HealthCheck>();
  private closed = false;

  constructor(
    nc: NatsConnection,
    private readonly log: Logger,
    opts: { registry?: Registry } = {},
  ) {
    void this.watch(nc);
    if (opts.registry) this.register(opts.registry);
  }

  /** The worker's report of a failed pull loop (connection gone, consumer missing, …). */
  consumerFailed(durable: string, err: unknown): void {
    const entry = this.failing.get(durable) ?? { count: 0, last: '' };
    entry.count++;
    entry.last = (err as Error)?.message ?? String(err);
    this.failing.set(durable, entry);
    if (entry.count === CONSUMER_FAILURE_THRESHOLD) {
      this.log.warn({ consumer: durable, reason: entry.last }, 'consumer keeps failing; not ready');
    }
  }

  /** The worker's report of a pull that worked: the consumer is healthy again. */
  consumerOk(durable: string): void {
    const entry = this.failing.get(durable);
    if (!entry) return;
    this.failing.delete(durable);
    if (entry.count >= CONSUMER_FAILURE_THRESHOLD) {
      this.log.info({ consumer: durable }, 'consumer healthy again');
    }
  }

  /** Adds a check that readiness also runs (e.g. projection lag). */
  addCheck(name: string, check: HealthCheck): void {
    this.checks.set(name, check);
  }

  isConnected(): boolean {
    return this.connected && !this.closed;
  }

  /** Consumers that failed at least the threshold in a row. */
  failingConsumers(): string[] {
    return [...this.failing]
      .filter(([, e]) => e.count >= CONSUMER_FAILURE_THRESHOLD)
      .map(([name]) => name);
  }

  async report(): Promise<HealthReport> {
    const reasons: string[] = [];
    if (this.closed) reasons.push('the NATS connection is closed');
    else if (!this.connected) {
      const secs = Math.round((Date.now() - this.since) / 1000);
      reasons.push(`NATS ${this.lastStatus} for ${secs} s; reconnecting`);
    }
    for (const name of this.failingConsumers()) {
      const e = this.failing.get(name)!;
      reasons.push(`consumer ${name} failed ${e.count} times in a row: ${e.last}`);
    }
    // Checks that need the server would only hang while it is away.
    if (this.isConnected()) {
      for (const [name, check] of this.checks) {
        const reason = await withTimeout(check(), CHECK_TIMEOUT_MS).catch(
          (err: unknown) => `${name} check failed: ${(err as Error).message}`,
        );
        if (reason) reasons.push(reason);
      }
    }
    return { ready: reasons.length === 0, reasons };
  }

  private async watch(nc: NatsConnection): Promise<void> {
    const closed = nc.closed().then(() => {
      this.closed = true;
      this.connected = false;
    });
    for await (const s of nc.status()) {
      switch (s.type) {
        case 'disconnect':
        case 'staleConnection':
          if (this.connected) {
            this.connected = false;
            this.since = Date.now();
            this.lastStatus = s.type === 'disconnect' ? 'disconnected' : 'connection went stale';
            this.log.warn(
              { status: s.type, server: 'server' in s ? s.server : undefined },
              'NATS connection lost',
            );
          }
          break;
        case 'reconnect':
          if (!this.connected) {
            const downMs = Date.now() - this.since;
            this.connected = true;
            this.since = Date.now();
            this.log.info({ server: s.server, downMs }, 'NATS connection restored');
          }
          break;
        case 'close':
          this.closed = true;
          this.connected = false;
          break;
        case 'error':
          this.log.warn({ err: s.error }, 'NATS connection error');
          break;
        case 'reconnecting':
        case 'forceReconnect':
        case 'update':
        case 'ldm':
        case 'ping':
        case 'slowConsumer':
          break;
        default: {
          const unknown: never = s;
          void unknown;
        }
      }
    }
    await closed;
  }

  private register(registry: Registry): void {
    const registers = [registry];
    const isConnected = () => this.isConnected();
    const failing = () => this.failingConsumers().length;
    const report = () => this.report();
    new Gauge({
      name: 'conform_nats_connected',
      help: '1 while the NATS connection is up, 0 while it is lost or closed.',
      registers,
      collect() {
        this.set(isConnected() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'conform_consumers_failing',
      help: `Consumers whose pull loop failed ${CONSUMER_FAILURE_THRESHOLD} or more times in a row.`,
      registers,
      collect() {
        this.set(failing());
      },
    });
    new Gauge({
      name: 'conform_ready',
      help: '1 when /readyz would answer 200 (NATS connected, consumers healthy, projections moving).',
      registers,
      async collect() {
        this.set((await report()).ready ? 1 : 0);
      },
    });
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
