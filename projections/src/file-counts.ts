import type { CompiledQuery, Kysely } from 'kysely';
import { statement } from './projection.js';
import type { FileCountsTable, ReadModelSchema } from './schema.js';

// The status page, `conform status` and the metrics endpoint count files by status (and by
// library and status) on every request. Counted from `files`, that is a scan of the whole
// table: about 0.45 s of the main thread per summary at 1,000,000 files, once a
// second while a dashboard is open (docs/benchmarks/discovery.md, round 6). Triggers keep the
// counts instead, a row per library and status, in the transaction that changes the files.

const COUNT_NEW = `insert into file_counts (library, status, files) values (new.library, new.status, 1)
    on conflict (library, status) do update set files = files + 1;`;
// A count that reaches 0 is deleted, so the table holds what a recount gives, row for row.
const UNCOUNT_OLD = `update file_counts set files = files - 1
    where library = old.library and status = old.status;
    delete from file_counts where library = old.library and status = old.status and files = 0;`;

/** The table and its triggers: idempotent DDL, part of the files model's `init`. */
export function fileCountsDdl(): CompiledQuery[] {
  return [
    `create table if not exists file_counts (
      library text not null, status text not null, files integer not null,
      primary key (library, status)) without rowid`,
    `create trigger if not exists files_counted_insert after insert on files begin
      ${COUNT_NEW}
    end`,
    // An upsert's DO UPDATE fires it too; the WHEN leaves out the events that keep the status.
    `create trigger if not exists files_counted_update after update of library, status on files
    when old.library is not new.library or old.status is not new.status begin
      ${UNCOUNT_OLD}
      ${COUNT_NEW}
    end`,
    `create trigger if not exists files_counted_delete after delete on files begin
      ${UNCOUNT_OLD}
    end`,
  ].map((sql) => statement(sql, []));
}

/**
 * Counts every file again, for a bulk load that dropped the triggers (openForRebuild): one scan
 * at the end instead of two trigger statements per status change.
 */
export function fileCountsRecount(): CompiledQuery[] {
  return [
    'delete from file_counts',
    `insert into file_counts (library, status, files)
      select library, status, count(*) from files group by library, status`,
  ].map((sql) => statement(sql, []));
}

/** Files per library and status, by library then status (a status with no files has no row). */
export async function fileCountRows(db: Kysely<ReadModelSchema>): Promise<FileCountsTable[]> {
  return db
    .selectFrom('file_counts')
    .select(['library', 'status', 'files'])
    .orderBy('library')
    .orderBy('status')
    .execute();
}

/** Files per status over every library, by status; statuses with no files are absent. Pure. */
export function statusCountsOf(rows: readonly FileCountsTable[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.status, (counts.get(r.status) ?? 0) + r.files);
  return Object.fromEntries([...counts].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** How many files are in each status; statuses with no files are absent. */
export async function fileStatusCounts(
  db: Kysely<ReadModelSchema>,
): Promise<Record<string, number>> {
  return statusCountsOf(await fileCountRows(db));
}
