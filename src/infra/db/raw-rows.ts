import { getTableColumns, type SQL } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { Executor } from './client.js';

/**
 * Runs a hand-written query whose result has exactly the columns of `table` and returns its rows as
 * the query builder would (camelCase keys, dates, numbers), on either driver. For SQL the builder
 * cannot express, such as recursive walks that return whole rows.
 */
export async function selectRowsOf<T extends PgTable>(db: Executor, table: T, query: SQL): Promise<T['$inferSelect'][]> {
  const result = await db.execute(query);
  // node-postgres answers a QueryResult, PGlite a Results object: both carry `rows`.
  const raw = (result as { rows: Record<string, unknown>[] }).rows;
  const columns = Object.entries(getTableColumns(table));
  return raw.map((row) => {
    const mapped: Record<string, unknown> = {};
    for (const [key, column] of columns) {
      const value = row[column.name];
      mapped[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
    }
    return mapped;
  });
}
