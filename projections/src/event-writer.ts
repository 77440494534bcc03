import type Database from 'better-sqlite3';
import type { CompiledQuery } from 'kysely';
import type { EventEnvelope } from '@conform/contracts';
import type { Projection } from './projection.js';

/** Writes events' statements into an open transaction; see {@link eventWriter}. */
export interface EventWriter {
  /** Folds one event at stream `position` in (some writes may wait for `flush`). */
  write(event: EventEnvelope, position: number): void;
  /** Runs every write still waiting; call before the transaction commits. */
  flush(): void;
  /** Drops the waiting writes (the transaction is rolled back). */
  discard(): void;
}

const statementCache = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/** A prepared statement per connection and SQL text, prepared on first use. */
export function prepared(sqlite: Database.Database, sql: string): Database.Statement {
  let cache = statementCache.get(sqlite);
  if (!cache) statementCache.set(sqlite, (cache = new Map()));
  let statement = cache.get(sql);
  if (!statement) cache.set(sql, (statement = sqlite.prepare(sql)));
  return statement;
}

interface Pending {
  projection: Projection;
  query: CompiledQuery;
}

/**
 * Runs the projections' statements for each event on `sqlite` (prepared once, reused), with one
 * saving: a projection with `combine` (the files model: every event rewrites its file's row)
 * keeps its latest write per file waiting, and the next write to the same row is folded into
 * it, so a file's discovered → probed → planned within one transaction is one upsert, not
 * three. The result is the same as running every statement in order, row for row and in the
 * same insertion (rowid) order:
 * - before another projection's statement that names a combining projection's table (it may
 *   read that file's row, as jobs reads the duration from `files`), the waiting writes up to
 *   and including that file's run;
 * - when two writes cannot be folded (`combine` returns null), the same;
 * - waiting writes run oldest first, so rows are inserted in the order they first appeared.
 */
export function eventWriter(
  sqlite: Database.Database,
  projections: readonly Projection[],
): EventWriter {
  // Keyed by file id; a Map iterates in insertion order, which is first-write order.
  const waiting = new Map<string, Pending[]>();
  // Which statements name a table whose writes wait (the combining projections' names are
  // their tables), decided once per SQL text.
  const combining = projections.filter((p) => p.combine).map((p) => p.name);
  const readsWaiting = new Map<string, boolean>();
  const mustFlushFor = (sql: string) => {
    let reads = readsWaiting.get(sql);
    if (reads === undefined) {
      reads = combining.some((name) => new RegExp(`\\b${name}\\b`).test(sql));
      readsWaiting.set(sql, reads);
    }
    return reads;
  };
  const run = (query: CompiledQuery) =>
    prepared(sqlite, query.sql).run(...(query.parameters as unknown[]));
  // Runs the waiting writes of every file that first waited before `fileId`, and its own.
  const flushUpTo = (fileId: string) => {
    if (!waiting.has(fileId)) return;
    for (const [key, writes] of waiting) {
      waiting.delete(key);
      for (const w of writes) run(w.query);
      if (key === fileId) return;
    }
  };
  return {
    write(event, position) {
      const fileId = event.fileId;
      for (const projection of projections) {
        if (!projection.canHandle(event.type)) continue;
        const queries = projection.evolve(event, position);
        if (queries.length === 0) continue;
        if (!projection.combine) {
          for (const q of queries) {
            if (mustFlushFor(q.sql)) flushUpTo(fileId);
            run(q);
          }
          continue;
        }
        for (const query of queries) {
          const writes = waiting.get(fileId);
          const earlier = writes?.find((w) => w.projection === projection);
          const combined = earlier ? projection.combine(earlier.query, query) : null;
          if (earlier && combined) {
            earlier.query = combined;
          } else if (writes && !earlier) {
            writes.push({ projection, query });
          } else {
            if (earlier) flushUpTo(fileId);
            waiting.set(fileId, [{ projection, query }]);
          }
        }
      }
    },
    flush() {
      for (const writes of waiting.values()) for (const w of writes) run(w.query);
      waiting.clear();
    },
    discard: () => waiting.clear(),
  };
}
