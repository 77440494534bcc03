import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { BusError } from './errors.js';

/** An open connection with its JetStream client and manager. */
export interface Bus {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  close(): Promise<void>;
}

/** Connects to NATS (comma-separated URLs allowed) and checks JetStream is enabled. */
export async function connectBus(opts: { servers: string; name: string }): Promise<Bus> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: opts.servers.split(',').map((s) => s.trim()),
      name: opts.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1_000,
    });
  } catch (err) {
    throw new BusError(
      'NATS_UNREACHABLE',
      `cannot connect to NATS at ${opts.servers}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc);
  } catch (err) {
    await nc.close();
    throw new BusError(
      'JETSTREAM_UNAVAILABLE',
      `NATS at ${opts.servers} has no JetStream (start nats-server with -js): ${(err as Error).message}`,
      { cause: err },
    );
  }
  const js = jetstream(nc);
  return {
    nc,
    js,
    jsm,
    close: async () => {
      if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
    },
  };
}
