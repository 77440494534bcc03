import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
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

/** One server of a {@link TestCluster}; `kill` and `restart` keep its name, ports and store. */
export interface ClusterNode {
  name: string;
  url: string;
  monitorUrl: string;
  running: boolean;
  /** SIGKILL: no shutdown, no goodbye to the routes, as a crashed machine. */
  kill(): Promise<void>;
  restart(): Promise<void>;
}

/** Several nats-server processes on loopback with routes between them and JetStream on each. */
export interface TestCluster {
  nodes: ClusterNode[];
  /** Every client URL, comma-separated, as `--nats` and NATS_URL take them. */
  servers: string;
  dir: string;
  /** The server currently leading the stream's RAFT group, from a node's /jsz. */
  streamLeader(stream: string): Promise<ClusterNode | null>;
  cleanup(): Promise<void>;
}

/**
 * Starts `size` clustered nats-servers with JetStream (each its own store, client, monitor and
 * route port), then waits until JetStream has a meta leader. Ports are fixed at start so a
 * killed server restarts on the same addresses and its peers' routes find it again.
 */
export async function startTestCluster(size = 3): Promise<TestCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'conform-test-cluster-'));
  const ports = await freePorts(size * 3);
  const specs = Array.from({ length: size }, (_, i) => ({
    name: `n${i + 1}`,
    client: ports[i * 3]!,
    monitor: ports[i * 3 + 1]!,
    route: ports[i * 3 + 2]!,
  }));
  const routes = specs.map((s) => `nats-route://127.0.0.1:${s.route}`);
  const handles = new Map<string, NatsServerHandle>();
  const nodes: ClusterNode[] = [];
  for (const spec of specs) {
    const conf = join(dir, `${spec.name}.conf`);
    await writeFile(
      conf,
      [
        `server_name: ${spec.name}`,
        `jetstream: enabled`,
        `cluster {`,
        `  name: conform-test`,
        `  listen: 127.0.0.1:${spec.route}`,
        `  routes: [${routes.filter((r) => !r.endsWith(`:${spec.route}`)).join(', ')}]`,
        `}`,
      ].join('\n'),
    );
    const start = async () => {
      const handle = await startNatsServer({
        storeDir: join(dir, spec.name),
        extraArgs: ['-c', conf, '-p', String(spec.client), '-m', String(spec.monitor)],
      });
      handles.set(spec.name, handle);
      node.running = true;
    };
    const node: ClusterNode = {
      name: spec.name,
      url: `nats://127.0.0.1:${spec.client}`,
      monitorUrl: `http://127.0.0.1:${spec.monitor}`,
      running: false,
      kill: async () => {
        const h = handles.get(spec.name);
        if (!h || !node.running) return;
        process.kill(h.pid, 'SIGKILL');
        await h.stop(); // waits for the exit (the SIGTERM it sends finds nothing to stop)
        node.running = false;
      },
      restart: start,
    };
    nodes.push(node);
  }
  await Promise.all(nodes.map((n) => n.restart()));
  const cluster: TestCluster = {
    nodes,
    servers: nodes.map((n) => n.url).join(','),
    dir,
    streamLeader: async (stream) => {
      for (const n of nodes.filter((x) => x.running)) {
        const jsz = await fetchJson(`${n.monitorUrl}/jsz?streams=true`).catch(() => null);
        const details = (jsz as JszResponse | null)?.account_details ?? [];
        for (const account of details) {
          for (const s of account.stream_detail ?? []) {
            const leader = s.name === stream ? s.cluster?.leader : undefined;
            if (leader) return nodes.find((x) => x.name === leader) ?? null;
          }
        }
      }
      return null;
    },
    cleanup: async () => {
      await Promise.all([...handles.values()].map((h) => h.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await eventually(
      async () => {
        const jsz = (await fetchJson(`${nodes[0]!.monitorUrl}/jsz`)) as JszResponse;
        return jsz.meta_cluster?.leader && (jsz.meta_cluster.cluster_size ?? 0) >= size;
      },
      { timeoutMs: 30_000, what: 'a JetStream meta leader in the test cluster' },
    );
  } catch (err) {
    await cluster.cleanup();
    throw err;
  }
  return cluster;
}

interface JszResponse {
  meta_cluster?: { leader?: string; cluster_size?: number };
  account_details?: { stream_detail?: { name: string; cluster?: { leader?: string } }[] }[];
}

async function fetchJson(url: string): Promise<unknown> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return res.json();
}

/** Ports the kernel hands out now; a tiny race with other processes, acceptable in tests. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
