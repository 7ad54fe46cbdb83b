import { randomBytes } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { sql } from 'drizzle-orm';
import { afterAll, inject } from 'vitest';
import { openDatabase, type Database, type DatabaseOptions } from '../../src/infra/db/client.js';
import { createScratchDatabase } from './scratch-database.js';

/** Set per vitest project (vitest.config.ts): the same suite runs embedded and against real servers. */
export const testMode: 'embedded' | 'services' = process.env.TEST_MODE === 'services' ? 'services' : 'embedded';

export interface TestBackends {
  /** Open and migrated, with every table empty; closing it hands it back for the file's next app. */
  database: Database;
  env: Record<string, string>;
  redisKeyPrefix?: string;
}

interface PooledDatabase {
  database: Database;
  env: Record<string, string>;
  dispose(): Promise<void>;
}

/*
 * A new PGlite cluster costs seconds, creating a PostgreSQL database a few hundred ms: embedded
 * databases are loaded from a migrated template (test/setup/pglite-template.ts), and each test file
 * opens its databases once and empties them between apps. Vitest isolates modules per test file, so
 * this pool is the file's own; an app that is still open keeps its database to itself, so a file may
 * run several apps at once, each on a database of its own.
 */
const idle: PooledDatabase[] = [];
const all: PooledDatabase[] = [];

afterAll(async () => {
  for (const entry of all.splice(0)) await entry.dispose();
  idle.length = 0;
});

let template: Promise<Blob> | undefined;
/** The migrated template, read lazily from disk (a file-backed Blob) once per test file. */
const pgliteTemplate = () => (template ??= openAsBlob(inject('pgliteTemplatePath')));

async function openPooled(): Promise<PooledDatabase> {
  if (testMode === 'embedded') {
    const database = await openDatabase({ kind: 'pglite', template: await pgliteTemplate() });
    return { database, env: {}, dispose: () => database.close() };
  }
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) throw new Error('TEST_MODE=services needs TEST_DATABASE_URL and TEST_REDIS_URL');
  const scratch = await createScratchDatabase(adminUrl, 'gc_test_');
  const options: DatabaseOptions = { kind: 'postgres', url: scratch.url, poolSize: 5 };
  const database = await openDatabase(options);
  return {
    database,
    env: { DATABASE_URL: scratch.url },
    async dispose() {
      await database.close();
      await scratch.drop();
    },
  };
}

/**
 * Every table of the app emptied (the migrations' own bookkeeping lives in another schema). The
 * search table is emptied by a DELETE: truncating it would truncate each of its 64 partitions (new
 * files for each, and their indexes), which costs PGlite more than deleting the few rows a test wrote.
 */
async function truncateAll(database: Database): Promise<void> {
  const result = await database.db.execute<{ tablename: string }>(sql`select c.relname as tablename from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition and c.relname <> 'message_search'`);
  const tables = (Array.isArray(result) ? result : (result as { rows: { tablename: string }[] }).rows).map((row) => `"${row.tablename}"`);
  if (tables.length > 0) await database.db.execute(sql.raw(`truncate table ${tables.join(', ')} restart identity cascade`));
  await database.db.execute(sql`delete from message_search`);
}

/**
 * Embedded: PGlite in memory, in-process drivers. Services: a PostgreSQL database of the file's own
 * (dropped after the file) and a fresh Redis key prefix per app, so test files run in parallel and
 * no counter or cache entry of one app is seen by the next.
 */
export async function provisionBackends(): Promise<TestBackends> {
  const reused = idle.pop();
  const entry = reused ?? (await openPooled());
  if (!reused) all.push(entry);
  else await truncateAll(entry.database);
  // The app closes its database when it closes: that hands it back instead.
  const database: Database = { ...entry.database, close: () => Promise.resolve(void idle.push(entry)) };
  if (testMode === 'embedded') return { database, env: entry.env };
  const redisUrl = process.env.TEST_REDIS_URL;
  if (!redisUrl) throw new Error('TEST_MODE=services needs TEST_DATABASE_URL and TEST_REDIS_URL');
  return { database, env: { ...entry.env, REDIS_URL: redisUrl }, redisKeyPrefix: `test:${randomBytes(6).toString('hex')}:` };
}

export interface FreshBackends {
  /** Not opened, not migrated: for processes of their own (and tests of migrating) to open. */
  database: DatabaseOptions;
  env: Record<string, string>;
  redisKeyPrefix?: string;
  dispose(): Promise<void>;
}

/**
 * A database of its own, created empty and dropped by `dispose` (embedded: PGlite in memory), for
 * tests that start real processes or open and migrate a database themselves.
 */
export async function provisionFreshBackends(): Promise<FreshBackends> {
  if (testMode === 'embedded') return { database: { kind: 'pglite' }, env: {}, dispose: () => Promise.resolve() };
  const adminUrl = process.env.TEST_DATABASE_URL;
  const redisUrl = process.env.TEST_REDIS_URL;
  if (!adminUrl || !redisUrl) throw new Error('TEST_MODE=services needs TEST_DATABASE_URL and TEST_REDIS_URL');
  const scratch = await createScratchDatabase(adminUrl, 'gc_test_');
  return {
    database: { kind: 'postgres', url: scratch.url, poolSize: 5 },
    env: { DATABASE_URL: scratch.url, REDIS_URL: redisUrl },
    redisKeyPrefix: `test:${randomBytes(6).toString('hex')}:`,
    dispose: () => scratch.drop(),
  };
}
