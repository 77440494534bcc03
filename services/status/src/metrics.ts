import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { EVENT_LOG_STREAM, type Bus } from '@conform/bus';
import { nodesView } from './nodes-view.js';

type JetStreamManager = Bus['jsm'];
import {
  readSummary,
  totalBytesSaved,
  fileStatusCounts,
  fileStatuses,
  lastAppliedSequence,
  type ReadModels,
} from '@conform/projections';

/**
 * A registry of its own (not prom-client's global one), so several status servers in one
 * process never register the same metric twice. Read-model gauges are computed on scrape, so
 * they are never staler than the read model itself.
 */
export function createMetricsRegistry(
  db: ReadModels['db'],
  opts: {
    jsm?: JetStreamManager;
    bus?: Bus;
    extra?: Registry;
    liveClients?: () => number;
  } = {},
): Registry {
  const own = new Registry();
  // The bus metrics registry already has the process metrics; merging would register them twice.
  if (!opts.extra) collectDefaultMetrics({ register: own });
  const registry = own;
  new Gauge({
    name: 'conform_files',
    help: 'Files in the read model, by pipeline status.',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const counts = await fileStatusCounts(db);
      this.reset();
      // Every known status is exported, zeros included, so alerts on absent series are not needed.
      for (const status of new Set<string>([...fileStatuses, ...Object.keys(counts)])) {
        this.set({ status }, counts[status] ?? 0);
      }
    },
  });
  new Gauge({
    name: 'conform_read_model_sequence',
    help: 'Last event-log stream sequence applied to the read models.',
    registers: [registry],
    async collect() {
      this.set(await lastAppliedSequence(db));
    },
  });
  new Gauge({
    name: 'conform_bytes_saved',
    help: 'Bytes saved by every replacement in the read model, net of restores.',
    registers: [registry],
    async collect() {
      this.set(await totalBytesSaved(db));
    },
  });
  new Gauge({
    name: 'conform_dead_letters',
    help: 'Dead-lettered messages in the read model.',
    registers: [registry],
    async collect() {
      this.set((await readSummary(db)).deadLetters);
    },
  });
  if (opts.liveClients) {
    const liveClients = opts.liveClients;
    new Gauge({
      name: 'conform_live_clients',
      help: 'Open live event streams (SSE) of this status server.',
      registers: [registry],
      collect() {
        this.set(liveClients());
      },
    });
  }
  if (opts.jsm) {
    const jsm = opts.jsm;
    new Gauge({
      name: 'conform_projection_lag',
      help: 'Events in the log the read models have not applied yet.',
      registers: [registry],
      async collect() {
        const info = await jsm.streams.info(EVENT_LOG_STREAM).catch(() => null);
        if (info) this.set(Math.max(0, info.state.last_seq - (await lastAppliedSequence(db))));
      },
    });
  }
  if (opts.bus) {
    const bus = opts.bus;
    new Gauge({
      name: 'conform_work_unserved_jobs',
      help: 'Queued jobs no live encoder node can take (no node of the pool, or none takes files that large), by pool and size class.',
      labelNames: ['pool', 'size_class'],
      registers: [registry],
      async collect() {
        const view = await nodesView(bus).catch(() => null);
        if (!view) return; // NATS away: keep the last figures rather than report none
        this.reset();
        for (const u of view.unserved) {
          this.set({ pool: u.pool, size_class: u.sizeClass ?? 'none' }, u.jobs);
        }
      },
    });
  }
  return opts.extra ? Registry.merge([own, opts.extra]) : registry;
}
