import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import {
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
export function createMetricsRegistry(db: ReadModels['db']): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
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
  return registry;
}
