import { createHash } from 'node:crypto';
import { getTableColumns, sql, type SQL } from 'drizzle-orm';
import { PgDialect, type PgTable } from 'drizzle-orm/pg-core';
import type { Executor } from './client.js';

/**
 * Runs a hand-written query whose result has exactly the columns of `table` and returns its rows as
 * the query builder would (camelCase keys, dates, numbers), on either driver. For SQL the builder
 * cannot express, such as recursive walks that return whole rows.
 */
export async function selectRowsOf<T extends PgTable>(db: Executor, table: T, query: SQL): Promise<T['$inferSelect'][]> {
  return (await executeRaw(db, query)).map((row) => rowOf(table, row));
}

const dialect = new PgDialect();
/** Statement names by SQL text: the same text always gets the same name, another text another one. */
const statementNames = new Map<string, string>();
const nameOf = (text: string) => {
  let name = statementNames.get(text);
  if (name === undefined) statementNames.set(text, (name = `raw_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`));
  return name;
};

/**
 * The raw rows of a hand-written query, as the driver parsed them (snake_case, timestamps as text).
 * It runs as a named prepared statement: PostgreSQL parses and plans it once per connection, which
 * for the walks and the send's statements cost more than running them (1.2 ms to plan a claim that
 * runs in 0.7). The session is drizzle's own (`db._.session`, the transaction's inside one), so the
 * statement runs where the caller's other queries run; PGlite has no named statements and ignores the name.
 */
export async function executeRaw(db: Executor, query: SQL): Promise<Record<string, unknown>[]> {
  const compiled = dialect.sqlToQuery(query);
  const result = await db._.session.prepareQuery(compiled, undefined, nameOf(compiled.sql), false).execute();
  // node-postgres answers a QueryResult, PGlite a Results object: both carry `rows`.
  return (result as { rows: Record<string, unknown>[] }).rows;
}

/**
 * The columns of `table`, named one by one (`alias.` before each, if given), for what a hand-written
 * query returns: never `*`. A prepared statement whose result gains a column (a migration that adds
 * one, during a rolling deploy) fails on every pooled connection ("cached plan must not change
 * result type"); a fixed list keeps its result what it was.
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
