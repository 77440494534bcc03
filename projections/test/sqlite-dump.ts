// What the read-model comparisons compare: every table row for row, and the index names.
import type { ReadModels } from '../src/index.js';

/** Every table's rows in insertion order (a WITHOUT ROWID table's by key), by table name. */
export function tables(readModels: ReadModels): Record<string, unknown[]> {
  const names = readModels.sqlite
    .prepare("select name, sql from sqlite_master where type = 'table' order by name")
    .all() as { name: string; sql: string }[];
  return Object.fromEntries(
    names.map(({ name, sql }) => [
      name,
      readModels.sqlite
        .prepare(`select * from "${name}" order by ${orderOf(readModels, name, sql)}`)
        .all(),
    ]),
  );
}

function orderOf(readModels: ReadModels, name: string, sql: string): string {
  if (!/without rowid/i.test(sql)) return 'rowid';
  const columns = readModels.sqlite.prepare(`pragma table_info("${name}")`).all() as {
    name: string;
    pk: number;
  }[];
  return columns
    .filter((c) => c.pk > 0)
    .sort((a, b) => a.pk - b.pk)
    .map((c) => `"${c.name}"`)
    .join(', ');
}

/** The names of every index, sorted. */
export function indexes(readModels: ReadModels): string[] {
  return (
    readModels.sqlite
      .prepare("select name from sqlite_master where type = 'index' order by name")
      .all() as { name: string }[]
  ).map((r) => r.name);
}
