import type { CompiledQuery, Kysely } from 'kysely';
import type { EventEnvelope } from '@conform/contracts';
import type { Projection } from './projection.js';
import { queryBuilder, type ReadModelSchema } from './schema.js';
import { filesProjection } from './files.js';
import { deadLettersProjection } from './dead-letters.js';

/** The checkpoint name every read model in this package shares: they advance together. */
export const READ_MODELS_PROJECTOR = 'read-models';

/** Every read model `openReadModels` creates and the projector feeds. */
export const readModelProjections: readonly Projection[] = [filesProjection, deadLettersProjection];

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
