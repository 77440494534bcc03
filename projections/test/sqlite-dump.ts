// What the read-model comparisons compare: every table row for row, and the index names.
import type { ReadModels } from '../src/index.js';

/** Every table's rows in insertion order, by table name. */
export function tables(readModels: ReadModels): Record<string, unknown[]> {
  const names = readModels.sqlite
    .prepare("select name from sqlite_master where type = 'table' order by name")
    .all() as { name: string }[];
  return Object.fromEntries(
    names.map(({ name }) => [
      name,
      readModels.sqlite.prepare(`select * from "${name}" order by rowid`).all(),
    ]),
  );
}

/** The names of every index, sorted. */
export function indexes(readModels: ReadModels): string[] {
  return (
    readModels.sqlite
      .prepare("select name from sqlite_master where type = 'index' order by name")
      .all() as { name: string }[]
  ).map((r) => r.name);
}
