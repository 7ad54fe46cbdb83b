import { getTableColumns, sql, type SQL } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { Executor } from './client.js';

/**
 * Runs a hand-written query whose result has exactly the columns of `table` and returns its rows as
 * the query builder would (camelCase keys, dates, numbers), on either driver. For SQL the builder
 * cannot express, such as recursive walks that return whole rows.
 */
export async function selectRowsOf<T extends PgTable>(db: Executor, table: T, query: SQL): Promise<T['$inferSelect'][]> {
  return (await executeRaw(db, query)).map((row) => rowOf(table, row));
}

/**
 * The raw rows of a hand-written query, as the driver parsed them (snake_case, timestamps as text).
 * Run through drizzle's public `execute`, on the handle given: inside a transaction that is the
 * transaction's, so the statement runs where the caller's other queries run. Drizzle has no public
 * way to give such a statement a name (only its query builders' `.prepare(name)` do), so PostgreSQL
 * parses and plans it on each run; private ways (`db._.session`) would break with any upgrade.
 */
export async function executeRaw(db: Executor, query: SQL): Promise<Record<string, unknown>[]> {
  const result: unknown = await db.execute(query);
  // node-postgres answers a QueryResult, PGlite a Results object: both carry `rows`.
  return (result as { rows: Record<string, unknown>[] }).rows;
}

/**
 * The columns of `table`, named one by one (`alias.` before each, if given), for what a hand-written
 * query returns: never `*`. A result keeps the shape this code knows while a migration adds columns
 * (a rolling deploy), and a statement prepared once (by a driver, a pooler, or a later change here)
 * would otherwise fail on every connection with "cached plan must not change result type".
 */
export function columnsOf(table: PgTable, alias?: string): SQL {
  const names = Object.values(getTableColumns(table)).map((column) => `${alias ? `${alias}.` : ''}"${column.name}"`);
  return sql.raw(names.join(', '));
}

/** The columns of `table` in a raw row, mapped as the query builder maps them. */
export function rowOf<T extends PgTable>(table: T, raw: Record<string, unknown>): T['$inferSelect'] {
  const mapped: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const value = raw[column.name];
    mapped[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return mapped;
}

/** A json column of a raw row: parsed by node-postgres, text from PGlite. */
export const jsonColumn = <T>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;
