import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';

/** All the check needs of a database: to run one statement. (Not client.ts's Db: client.ts imports this file.) */
type StatementRunner = Pick<PgDatabase<PgQueryResultHKT>, 'execute'>;

/*
 * The generated SQL migrations ship beside the code: `src/infra/db/` and, compiled, `dist/infra/db/`
 * are both three folders below the project root that holds `drizzle/`.
 */
export const migrationsFolder = join(fileURLToPath(new URL('.', import.meta.url)), '../../../drizzle');

export class MigrationsError extends Error {
  override name = 'MigrationsError';
}

/** The creation time drizzle records for the newest migration this code knows. */
function newestKnownMigrationMillis(): number {
  const journalPath = join(migrationsFolder, 'meta/_journal.json');
  if (!existsSync(journalPath)) {
    throw new MigrationsError(`The migrations folder was not found at '${migrationsFolder}': ship drizzle/ beside dist/`);
  }
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { when: number }[] };
  return Math.max(0, ...journal.entries.map((entry) => entry.when));
}

/**
 * A process that does not migrate at start (production) refuses to run on a schema older than its
 * code: the deploy forgot its migration step. A newer schema is fine (migrations are additive first).
 */
export async function assertMigrated(db: StatementRunner): Promise<void> {
  const expected = newestKnownMigrationMillis();
  let applied = 0;
  try {
    // Both drivers answer raw SQL with `{ rows }`.
    const result: unknown = await db.execute(sql`select max(created_at) as newest from drizzle.__drizzle_migrations`);
    applied = Number((result as { rows: { newest: string | number | null }[] }).rows[0]?.newest ?? 0);
  } catch {
    applied = 0; // no migrations table: nothing was ever applied
  }
  if (applied < expected) {
    throw new MigrationsError(
      'The database schema is older than this code: run `npm run migrate` (or `node dist/main.js migrate`) first, or set MIGRATE_ON_START=true',
    );
  }
}
