// The Prometheus metrics every service process exports: one registry, the bus and consumer
// gauges, the event-log size and disk space, and the small HTTP server for services run alone.
// One job (what /metrics says); long because each metric carries its help text and labels.
import { statfs } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JetStreamManager } from '@nats-io/jetstream';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EventEnvelope } from '@conform/contracts';
import { EVENT_LOG_STREAM } from './event-log.js';
import { WORK_STREAM } from './work.js';
import type { EventPublisher, PublishResult } from './publisher.js';
import type { MessageOutcome } from './worker.js';

/** Per-process Prometheus metrics of the bus: what was consumed, published and dead-lettered. */
export interface BusMetrics {
  registry: Registry;
  /** Pass as `ServiceContext.onOutcome`. */
  onOutcome(service: string, outcome: MessageOutcome): void;
  /** Counts every event `publisher` publishes (and encode and savings figures); returns it. */
  instrument(publisher: EventPublisher): EventPublisher;
  /** Records one published event; `instrument` calls it, tests may too. */
  observePublished(event: EventEnvelope, result: PublishResult): void;
}

/** Options of {@link createBusMetrics}. */
export interface BusMetricsOptions {
  /** Registry to add to; a new one (with process metrics) by default. */
  registry?: Registry;
  /** When given, consumer backlogs and the event log's size are read on every scrape. */
  jsm?: JetStreamManager;
  /** Folders whose filesystem's free and total bytes are exported (libraries, archives). */
  disks?: readonly DiskToWatch[];
}

/** A folder whose free space matters: `role` is `library` or `archive`. */
export interface DiskToWatch {
  path: string;
  role: 'library' | 'archive';
}

/**
 * Creates the bus's metrics on a registry of their own (not prom-client's global one), so
 * several in one process never clash. Consumer backlogs come from JetStream consumer info at
 * scrape time, so they are exactly as fresh as the scrape.
 */
export function createBusMetrics(opts: BusMetricsOptions = {}): BusMetrics {
  const registry = opts.registry ?? new Registry();
  if (!opts.registry) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const consumed = new Counter({
    name: 'conform_events_consumed_total',
    help: 'Deliveries handled, by service, event type and outcome (acked, retried, returned).',
    labelNames: ['service', 'type', 'outcome'],
    registers,
  });
  const handlerSeconds = new Histogram({
    name: 'conform_handler_duration_seconds',
    help: 'Time handlers took for deliveries they acked, by service and event type.',
    labelNames: ['service', 'type'],
    buckets: [0.005, 0.05, 0.25, 1, 5, 30, 120, 600, 3600],
    registers,
  });
  const deadLetters = new Counter({
    name: 'conform_dead_letters_total',
    help: 'Messages given up on and recorded as message.deadlettered, by service.',
    labelNames: ['service'],
    registers,
  });
  const published = new Counter({
    name: 'conform_events_published_total',
    help: 'Events published by this process, by type; duplicate="true" when the stream dropped a repeat.',
    labelNames: ['type', 'duplicate'],
    registers,
  });
  const encodeSeconds = new Histogram({
    name: 'conform_encode_duration_seconds',
    help: 'Wall-clock time of completed encodes, by encoder.',
    labelNames: ['encoder'],
    buckets: [1, 10, 60, 300, 900, 1800, 3600, 7200, 14400],
    registers,
  });
  const encodeFps = new Histogram({
    name: 'conform_encode_fps',
    help: 'Frames per second of completed encodes that reported it, by encoder.',
    labelNames: ['encoder'],
    buckets: [5, 15, 30, 60, 120, 240, 480],
    registers,
  });
  const bytesSaved = new Counter({
    name: 'conform_bytes_saved_total',
    help: 'Bytes saved by replacements this process published, by library.',
    labelNames: ['library'],
    registers,
  });
  if (opts.jsm) {
    const jsm = opts.jsm;
    // Both gauges read one consumer listing per scrape, so they describe the same moment.
    let listing: { at: number; rows: Promise<ConsumerBacklog[]> } | null = null;
    const backlog = () => {
      if (!listing || Date.now() - listing.at > 500) {
        listing = { at: Date.now(), rows: listBacklogs(jsm) };
      }
      return listing.rows;
    };
    new Gauge({
      name: 'conform_consumer_pending',
      help: 'Messages waiting for each durable consumer (not yet delivered).',
      labelNames: ['consumer'],
      registers,
      async collect() {
        this.reset();
        for (const b of await backlog()) this.set({ consumer: b.consumer }, b.pending);
      },
    });
    new Gauge({
      name: 'conform_consumer_ack_pending',
      help: 'Messages delivered to each durable consumer and not yet acked (in progress).',
      labelNames: ['consumer'],
      registers,
      async collect() {
        this.reset();
        for (const b of await backlog()) this.set({ consumer: b.consumer }, b.ackPending);
      },
    });
  }

  if (opts.jsm) {
    const jsm = opts.jsm;
    // Discard-new: once bytes reach the ceiling the log refuses every write, so alert before.
    let stream: { at: number; info: Promise<{ bytes: number; maxBytes: number } | null> } | null =
      null;
    const streamInfo = () => {
      if (!stream || Date.now() - stream.at > 500) {
        stream = {
          at: Date.now(),
          info: jsm.streams.info(EVENT_LOG_STREAM).then(
            (i) => ({ bytes: i.state.bytes, maxBytes: i.config.max_bytes }),
            () => null, // no stream yet, or NATS is away: export nothing, never fail the scrape
          ),
        };
      }
      return stream.info;
    };
    new Gauge({
      name: 'conform_event_log_bytes',
      help: 'Bytes stored in the event-log stream.',
      registers,
      async collect() {
        const info = await streamInfo();
        if (info) this.set(info.bytes);
      },
    });
    new Gauge({
      name: 'conform_event_log_max_bytes',
      help: "The event-log stream's byte ceiling (writes are refused once it is reached).",
      registers,
      async collect() {
        const info = await streamInfo();
        if (info && info.maxBytes > 0) this.set(info.maxBytes);
      },
    });
  }
  if (opts.disks?.length) {
    const disks = [...new Map(opts.disks.map((d) => [`${d.role}:${d.path}`, d])).values()];
    const readDisks = () =>
      Promise.all(
        disks.map(async (d) => {
          // An unmounted or unreadable folder is left out rather than failing the whole scrape.
          const fs = await statfs(d.path).catch(() => null);
          return fs && { ...d, free: fs.bavail * fs.bsize, size: fs.blocks * fs.bsize };
        }),
      );
    new Gauge({
      name: 'conform_disk_free_bytes',
      help: 'Bytes available to conform on the filesystem of each library and archive.',
      labelNames: ['role', 'path'],
      registers,
      async collect() {
        this.reset();
        for (const d of await readDisks()) if (d) this.set({ role: d.role, path: d.path }, d.free);
      },
    });
    new Gauge({
      name: 'conform_disk_size_bytes',
      help: 'Total bytes of the filesystem of each library and archive.',
      labelNames: ['role', 'path'],
      registers,
      async collect() {
        this.reset();
        for (const d of await readDisks()) if (d) this.set({ role: d.role, path: d.path }, d.size);
      },
    });
  }

  const observePublished = (event: EventEnvelope, result: PublishResult) => {
    published.inc({ type: event.type, duplicate: String(result.duplicate) });
    if (result.duplicate) return;
    if (event.type === 'encode.completed') {
      encodeSeconds.observe({ encoder: event.data.encoder }, event.data.elapsedMs / 1000);
      const fps = (event.data as { fps?: unknown }).fps;
      if (typeof fps === 'number') encodeFps.observe({ encoder: event.data.encoder }, fps);
    }
    if (event.type === 'file.replaced' && event.data.bytesSaved > 0) {
      bytesSaved.inc({ library: event.data.library }, event.data.bytesSaved);
    }
  };

  return {
    registry,
    observePublished,
    onOutcome(service, outcome) {
      switch (outcome.kind) {
        case 'acked':
          consumed.inc({ service, type: outcome.type, outcome: 'acked' });
          handlerSeconds.observe({ service, type: outcome.type }, outcome.durationMs / 1000);
          return;
        case 'retried':
        case 'returned':
          consumed.inc({ service, type: outcome.type, outcome: outcome.kind });
          return;
        case 'dead-lettered':
          deadLetters.inc({ service });
          return;
        default: {
          const unknown: never = outcome;
          return unknown;
        }
      }
    },
    instrument(publisher) {
      // Every emit goes through publish or publishBatch, so wrapping these sees every event.
      const publish = publisher.publish.bind(publisher);
      publisher.publish = async (event: EventEnvelope) => {
        const result = await publish(event);
        observePublished(event, result);
        return result;
      };
      const publishBatch = publisher.publishBatch.bind(publisher);
      publisher.publishBatch = async (events: readonly EventEnvelope[], opts) => {
        const results = await publishBatch(events, opts);
        if (!publisher.pipelined) return results; // each went through publish, counted there
        results.forEach((r, i) => {
          if (!(r instanceof Error)) observePublished(events[i]!, r);
        });
        return results;
      };
      return publisher;
    },
  };
}

/** A bare `/metrics` (and `/healthz`) HTTP endpoint for a service run without the status server. */
export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** Serves `registry` at `/metrics` on host:port (127.0.0.1 and a free port by default). */
export async function serveMetrics(
  registry: Registry,
  opts: { host?: string; port?: number } = {},
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = req.url?.split('?')[0];
    // Liveness for the container HEALTHCHECK: the process is up and serving.
    if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: unknown) =>
        res
          .writeHead(500, { 'content-type': 'text/plain' })
          .end(`metrics failed: ${String(err)}\n`),
    );
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface ConsumerBacklog {
  consumer: string;
  pending: number;
  ackPending: number;
}

async function listBacklogs(jsm: JetStreamManager): Promise<ConsumerBacklog[]> {
  const rows: ConsumerBacklog[] = [];
  // The log's consumers, and the work queues by pool and size class (`encoder-work-<pool>-<sizeClass>`: the encode backlog).
  for (const stream of [EVENT_LOG_STREAM, WORK_STREAM]) {
    try {
      for await (const info of jsm.consumers.list(stream)) {
        // Ordered (ephemeral) consumers are readers, not queues.
        if (!info.config.durable_name) continue;
        rows.push({
          consumer: info.name,
          pending: info.num_pending,
          ackPending: info.num_ack_pending,
        });
      }
    } catch {
      // No stream yet, or NATS is away: export nothing rather than fail the whole scrape.
    }
  }
  return rows;
}
