import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectBus, type Bus } from './connection.js';
import { startNatsServer, type NatsServerHandle } from './nats-server.js';

/** A private nats-server (random ports, temporary store) and a connection to it, for tests. */
export interface TestBus {
  server: NatsServerHandle;
  bus: Bus;
  dir: string;
  /** Closes the connection, kills the server and deletes the store. */
  cleanup(): Promise<void>;
}

export async function startTestBus(name = 'test'): Promise<TestBus> {
  const dir = await mkdtemp(join(tmpdir(), 'conform-test-nats-'));
  const server = await startNatsServer({ storeDir: join(dir, 'store') });
  const bus = await connectBus({ servers: server.url, name });
  return {
    server,
    bus,
    dir,
    cleanup: async () => {
      await bus.close();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a truthy value or the time runs out. */
export async function eventually<T>(
  check: () => T | Promise<T>,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${opts.what ?? 'condition'}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}
