import type Database from 'better-sqlite3';

/**
 * Every read-model table's rows, by table name: in insertion order (rowid), a WITHOUT ROWID
 * table's (file_counts) in key order. What the tests compare when they check that two ways of
 * building the read models (a replay, the live projector, a catch-up) give the same file.
 */
export function tableRows(sqlite: Database.Database): Record<string, unknown[]> {
  const tables = sqlite
    .prepare(
      "select name, sql from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name",
    )
    .all() as { name: string; sql: string }[];
  return Object.fromEntries(
    tables.map(({ name, sql }) => [
      name,
      sqlite.prepare(`select * from "${name}" order by ${orderOf(sqlite, name, sql)}`).all(),
    ]),
  );
}

function orderOf(sqlite: Database.Database, table: string, sql: string): string {
  if (!/without rowid/i.test(sql)) return 'rowid';
  const columns = sqlite.prepare(`pragma table_info("${table}")`).all() as {
    name: string;
    pk: number;
  }[];
  return columns
    .filter((c) => c.pk > 0)
    .sort((a, b) => a.pk - b.pk)
    .map((c) => `"${c.name}"`)
    .join(', ');
}
