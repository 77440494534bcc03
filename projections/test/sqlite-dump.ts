// What the read-model comparisons compare: every table row for row, and the index names.
import { tableRows, type ReadModels } from '../src/index.js';

/** Every table's rows in insertion order (a WITHOUT ROWID table's by key), by table name. */
export function tables(readModels: ReadModels): Record<string, unknown[]> {
  return tableRows(readModels.sqlite);
}

/** The names of every index, sorted. */
export function indexes(readModels: ReadModels): string[] {
  return (
    readModels.sqlite
      .prepare("select name from sqlite_master where type = 'index' order by name")
      .all() as { name: string }[]
  ).map((r) => r.name);
}
