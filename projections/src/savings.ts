import type { Kysely } from 'kysely';
import { statement, type Projection } from './projection.js';
import { queryBuilder, type ReadModelSchema } from './schema.js';

const ADD_SAVING =
  'insert into savings (library, day, files_replaced, files_restored, bytes_saved, original_bytes, new_bytes) ' +
  'values (?, ?, 1, 0, ?, ?, ?) on conflict (library, day) do update set ' +
  'files_replaced = files_replaced + 1, bytes_saved = savings.bytes_saved + excluded.bytes_saved, ' +
  'original_bytes = savings.original_bytes + excluded.original_bytes, ' +
  'new_bytes = savings.new_bytes + excluded.new_bytes';

// A restore gives back what the replacement saved; the files model still holds that figure.
const SUBTRACT_SAVING =
  'insert into savings (library, day, files_replaced, files_restored, bytes_saved, original_bytes, new_bytes) ' +
  'values (?, ?, 0, 1, -coalesce((select bytes_saved from files where file_id = ?), 0), 0, 0) ' +
  'on conflict (library, day) do update set files_restored = files_restored + 1, ' +
  'bytes_saved = savings.bytes_saved + excluded.bytes_saved';

/** The `savings` read model: bytes saved per library and UTC day. */
export const savingsProjection: Projection = {
  name: 'savings',
  canHandle: (type) => type === 'file.replaced' || type === 'file.restored',
  init: () => [
    queryBuilder.schema
      .createTable('savings')
      .ifNotExists()
      .addColumn('library', 'text', (c) => c.notNull())
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('files_replaced', 'integer', (c) => c.notNull())
      .addColumn('files_restored', 'integer', (c) => c.notNull())
      .addColumn('bytes_saved', 'integer', (c) => c.notNull())
      .addColumn('original_bytes', 'integer', (c) => c.notNull())
      .addColumn('new_bytes', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('savings_pk', ['library', 'day'])
      .compile(),
  ],
  evolve(event) {
    const day = event.time.slice(0, 10);
    if (event.type === 'file.replaced') {
      const d = event.data;
      return [statement(ADD_SAVING, [d.library, day, d.bytesSaved, d.originalSize, d.newSize])];
    }
    if (event.type === 'file.restored') {
      return [statement(SUBTRACT_SAVING, [event.data.library, day, event.fileId])];
    }
    return [];
  },
};

/** Savings of one library on one day. */
export interface SavingsRow {
  library: string;
  day: string;
  filesReplaced: number;
  filesRestored: number;
  bytesSaved: number;
  originalBytes: number;
  newBytes: number;
}

/** Savings per library and day, newest day first. */
export async function listSavings(
  db: Kysely<ReadModelSchema>,
  filter: { library?: string; limit?: number } = {},
): Promise<SavingsRow[]> {
  let query = db.selectFrom('savings').selectAll();
  if (filter.library !== undefined) query = query.where('library', '=', filter.library);
  const rows = await query
    .orderBy('day', 'desc')
    .orderBy('library')
    .limit(filter.limit ?? 1_000)
    .execute();
  return rows.map((r) => ({
    library: r.library,
    day: r.day,
    filesReplaced: r.files_replaced,
    filesRestored: r.files_restored,
    bytesSaved: r.bytes_saved,
    originalBytes: r.original_bytes,
    newBytes: r.new_bytes,
  }));
}

/** Bytes saved over every library and day. */
export async function totalBytesSaved(db: Kysely<ReadModelSchema>): Promise<number> {
  const row = await db
    .selectFrom('savings')
    .select((eb) => eb.fn.sum<number>('bytes_saved').as('total'))
    .executeTakeFirst();
  return Number(row?.total ?? 0);
}
