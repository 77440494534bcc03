import type { Registry } from 'prom-client';
import type { Bus, EventPublisher } from '@conform/bus';
import type { DryRunReport } from '@conform/contracts';
import type { ReadModels } from '@conform/projections';
import type { LiveFeed } from '../live.js';

/** What every route group gets: the read models and, when present, the bus side. */
export interface RouteContext {
  db: ReadModels['db'];
  bus: Bus | null;
  live: LiveFeed;
  isReady: () => Promise<Readiness>;
  metrics: Registry;
  publisher: EventPublisher | null;
  controlToken: string | null;
  dryRun: (() => Promise<DryRunReport>) | null;
}

export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A readiness answer: a plain yes/no, or a report whose reasons the 503 body names. */
export type Readiness = boolean | { ready: boolean; reasons: string[] };
