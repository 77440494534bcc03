import { CompiledQuery } from 'kysely';
import type { EventEnvelope, EventType } from '@conform/contracts';

/**
 * A read model: which events it cares about, the DDL it needs, and a pure function from one
 * event at one stream position to the SQL writes that fold it in.
 */
export interface Projection {
  readonly name: string;
  canHandle(type: EventType): boolean;
  /** Idempotent DDL (`IF NOT EXISTS`), run every time the database is opened. */
  init(): CompiledQuery[];
  evolve(event: EventEnvelope, position: number): CompiledQuery[];
  /**
   * For a model with one row per file that every event rewrites: folds two consecutive writes
   * of this model to the event's file (`earlier` then `later`) into one with the same effect,
   * or null when they cannot be folded. Bulk writes use it to write a row once per
   * transaction (see eventWriter). The projection's `name` must be its table's; its writes
   * touch only the event's own file's row and read no other projection's table, and other
   * projections' statements that read its table read only the event's own file's row.
   */
  combine?(earlier: CompiledQuery, later: CompiledQuery): CompiledQuery | null;
  /**
   * For a model whose `init` creates triggers that keep a table of its own: the statements that
   * recompute that table from scratch. A bulk load that drops the triggers (openForRebuild)
   * runs them at its end, after re-creating the triggers.
   */
  afterBulkLoad?(): CompiledQuery[];
}

// Per SQL text: the operation node and query id that CompiledQuery.raw would build afresh.
const templates = new Map<string, CompiledQuery>();

/**
 * `CompiledQuery.raw(sql, parameters)` for the projections' writes, made once per event during
 * a replay: Kysely's builds and freezes four objects (and a query id) per call, several percent
 * of a bulk load's writer thread; this shares them per SQL text and leaves the parameters as
 * given. Kysely reads `query` and `queryId` only for plugins (none here), the writers only
 * `sql` and `parameters`.
 */
export function statement(sql: string, parameters: readonly unknown[]): CompiledQuery {
  let template = templates.get(sql);
  if (!template) templates.set(sql, (template = CompiledQuery.raw(sql)));
  return { sql, parameters, query: template.query, queryId: template.queryId };
}
