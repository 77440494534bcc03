import type { CompiledQuery, Kysely } from 'kysely';
import type { EventEnvelope } from '@conform/contracts';
import type { Projection } from './projection.js';
import { eventWriter, prepared } from './event-writer.js';
import { queryBuilder, type ReadModelSchema } from './schema.js';
import { filesProjection } from './files.js';
import { deadLettersProjection } from './dead-letters.js';
import { jobsProjection } from './jobs.js';
import { savingsProjection } from './savings.js';
import { failuresProjection } from './failures.js';
import type Database from 'better-sqlite3';

/** The checkpoint name every read model in this package shares: they advance together. */
export const READ_MODELS_PROJECTOR = 'read-models';

/** Every read model `openReadModels` creates and the projector feeds. */
export const readModelProjections: readonly Projection[] = [
  // Jobs and savings read the file row (duration, bytes saved) as it was before this event.
  jobsProjection,
  savingsProjection,
  filesProjection,
  deadLettersProjection,
  failuresProjection,
];

/** DDL of the checkpoint table. */
export function checkpointTableDdl(): CompiledQuery[] {
  return [
    queryBuilder.schema
      .createTable('checkpoints')
      .ifNotExists()
      .addColumn('projector', 'text', (c) => c.primaryKey())
      .addColumn('position', 'integer', (c) => c.notNull())
      .compile(),
  ];
}

/** The last stream sequence `projector` applied; 0 when it never applied anything. */
export async function lastAppliedSequence(
  db: Kysely<ReadModelSchema>,
  projector = READ_MODELS_PROJECTOR,
): Promise<number> {
  const row = await db
    .selectFrom('checkpoints')
    .select('position')
    .where('projector', '=', projector)
    .executeTakeFirst();
  return row?.position ?? 0;
}

/** What to apply with: the projections and the checkpoint they share. */
export interface ApplyOptions {
  projections?: readonly Projection[];
  projector?: string;
}

/**
 * Folds one event at stream `position` into the read models: every projection's writes and
 * the checkpoint move in one transaction, so a crash leaves both before or both after. An
 * event at or below the checkpoint was applied already and is ignored. Returns whether it was
 * applied.
 */
export async function applyEvent(
  db: Kysely<ReadModelSchema>,
  event: EventEnvelope,
  position: number,
  opts: ApplyOptions = {},
): Promise<boolean> {
  const projections = opts.projections ?? readModelProjections;
  return advance(db, position, opts.projector, async (trx) => {
    for (const projection of projections) {
      if (!projection.canHandle(event.type)) continue;
      for (const query of projection.evolve(event, position)) await trx.executeQuery(query);
    }
  });
}

/**
 * Moves the checkpoint past a message that is not a valid event, so it is skipped once and
 * for good. Returns false when the checkpoint was already there.
 */
export async function skipPosition(
  db: Kysely<ReadModelSchema>,
  position: number,
  projector = READ_MODELS_PROJECTOR,
): Promise<boolean> {
  return advance(db, position, projector, async () => undefined);
}

async function advance(
  db: Kysely<ReadModelSchema>,
  position: number,
  projector = READ_MODELS_PROJECTOR,
  write: (trx: Kysely<ReadModelSchema>) => Promise<void>,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    if (position <= (await lastAppliedSequence(trx, projector))) return false;
    await write(trx);
    await trx
      .insertInto('checkpoints')
      .values({ projector, position })
      .onConflict((oc) => oc.column('projector').doUpdateSet({ position }))
      .execute();
    return true;
  });
}

/** One stream message for {@link applyBatch}: a valid event, or null for a message to skip. */
export interface PositionedEvent {
  position: number;
  event: EventEnvelope | null;
}

/**
 * Folds many events into the read models in one SQLite transaction with one checkpoint update
 * at the end: rows and checkpoint still move together, and catching up pays for one commit per
 * batch instead of one per event. Synchronous, on the raw better-sqlite3 handle, with prepared
 * statements reused across events and a file's writes within the batch folded into one (see
 * eventWriter). Events at or below the checkpoint are skipped. Returns the checkpoint after
 * the batch.
 */
export function applyBatch(
  sqlite: Database.Database,
  batch: readonly PositionedEvent[],
  opts: ApplyOptions = {},
): number {
  const projections = opts.projections ?? readModelProjections;
  const projector = opts.projector ?? READ_MODELS_PROJECTOR;
  return sqlite.transaction(() => {
    let checkpoint = readCheckpoint(sqlite, projector);
    const start = checkpoint;
    const writer = eventWriter(sqlite, projections);
    for (const { position, event } of batch) {
      if (position <= checkpoint) continue;
      if (event) writer.write(event, position);
      checkpoint = position;
    }
    writer.flush();
    if (checkpoint > start) writeCheckpoint(sqlite, projector, checkpoint);
    return checkpoint;
  })();
}

function readCheckpoint(sqlite: Database.Database, projector: string): number {
  const row = prepared(sqlite, 'select position from checkpoints where projector = ?').get(
    projector,
  ) as { position: number } | undefined;
  return row?.position ?? 0;
}

function writeCheckpoint(sqlite: Database.Database, projector: string, position: number): void {
  prepared(
    sqlite,
    'insert into checkpoints (projector, position) values (?, ?) ' +
      'on conflict (projector) do update set position = excluded.position',
  ).run(projector, position);
}

/** Folds events one at a time into transactions of a fixed size; see {@link bulkApplier}. */
export interface BulkApplier {
  /** Applies one message (null: not a valid event, only the checkpoint moves past it). */
  apply(position: number, event: EventEnvelope | null): void;
  /** Commits what is open; returns the checkpoint. */
  commit(): number;
  /** Abandons the open transaction. */
  abort(): void;
}

/**
 * For a database only this connection writes (a replay's staging file, or the live file while a
 * worker catches it up; others may read it through connections of their own): each event is written
 * as it arrives, inside a transaction committed with its checkpoint every `batchSize`
 * events, so a bulk read holds no batch of decoded events in memory (which would survive
 * young-generation collections and cost full ones). Not for a file others read through this
 * connection: the transaction stays open between calls.
 */
export function bulkApplier(
  sqlite: Database.Database,
  opts: ApplyOptions & {
    batchSize?: number;
    /** Called after each commit that moved the checkpoint, with the checkpoint committed. */
    onCommit?: (checkpoint: number) => void;
  } = {},
): BulkApplier {
  const projections = opts.projections ?? readModelProjections;
  const projector = opts.projector ?? READ_MODELS_PROJECTOR;
  const batchSize = Math.max(1, opts.batchSize ?? 5_000);
  let open = false;
  // What commit returns even when nothing was applied: the file's own checkpoint.
  let checkpoint = readCheckpoint(sqlite, projector);
  let committed = checkpoint;
  let pending = 0;
  const writer = eventWriter(sqlite, projections);
  const begin = () => {
    sqlite.exec('begin');
    open = true;
    committed = checkpoint = readCheckpoint(sqlite, projector);
  };
  const commit = () => {
    if (!open) return checkpoint;
    writer.flush();
    if (checkpoint > committed) writeCheckpoint(sqlite, projector, checkpoint);
    sqlite.exec('commit');
    open = false;
    pending = 0;
    if (checkpoint > committed) opts.onCommit?.(checkpoint);
    return checkpoint;
  };
  return {
    apply(position, event) {
      if (!open) begin();
      if (position <= checkpoint) return;
      if (event) writer.write(event, position);
      checkpoint = position;
      if (++pending >= batchSize) commit();
    },
    commit,
    abort() {
      writer.discard();
      if (open && sqlite.inTransaction) sqlite.exec('rollback');
      open = false;
    },
  };
}
