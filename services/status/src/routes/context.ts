import type { FastifyReply } from 'fastify';
import type { Registry } from 'prom-client';
import type { Bus, EventPublisher } from '@conform/bus';
import type { DryRunReport, EventEnvelope } from '@conform/contracts';
import { getFile, readFileHistory, type ReadModels } from '@conform/projections';
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

/**
 * A file's row and its decoded events from the log (none without a bus), or null after a 404
 * naming the id: what every per-file route starts with.
 */
export async function fileWithEvents(
  ctx: Pick<RouteContext, 'db' | 'bus'>,
  id: string,
  reply: FastifyReply,
): Promise<{
  file: NonNullable<Awaited<ReturnType<typeof getFile>>>;
  /** Every message on the file's subjects, undecodable ones included (with their error). */
  history: Awaited<ReturnType<typeof readFileHistory>>;
  events: EventEnvelope[];
} | null> {
  const file = await getFile(ctx.db, id);
  if (!file) {
    await reply.code(404).send({ error: 'not_found', message: `no file with id ${id}` });
    return null;
  }
  const history = ctx.bus ? await readFileHistory(ctx.bus, file.fileId) : [];
  const events = history.map((m) => m.event).filter((e): e is EventEnvelope => e !== null);
  return { file, history, events };
}
