import { AsyncLocalStorage } from 'node:async_hooks';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { ExtractTablesWithRelations } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { lockDataDir } from './data-dir-lock.js';
import { assertMigrated, migrationsFolder } from './migrations.js';
import * as schema from './schema.js';

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;
/** What a repository function runs its queries on: the database, or the transaction it is part of. */
export type Executor = Db | Tx;

export interface Database {
  readonly kind: 'postgres' | 'pglite';
  readonly db: Db;
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type DatabaseOptions =
  | { kind: 'postgres'; url: string; poolSize?: number }
  /** dataDir undefined = in memory (tests). */
  | { kind: 'pglite'; dataDir?: string };

export interface OpenOptions {
  /** Apply pending migrations (MIGRATE_ON_START); otherwise refuse a schema older than the code. */
  migrate: boolean;
}

export class OuterHandleInTransactionError extends Error {
  override name = 'OuterHandleInTransactionError';
  constructor() {
    super('A query used the outer database handle inside a transaction; run it on the transaction (tx) instead.');
  }
}

/*
 * PGlite is one connection with an exclusive lock: a query on the outer handle inside a transaction
 * waits for that transaction forever, with no error. On PostgreSQL the same mistake silently runs
 * outside the transaction. Both are bugs, so on both drivers such a query throws at once.
 */
const insideTransaction = new AsyncLocalStorage<true>();

function guardOuterQueries<T extends object>(target: T, methods: (keyof T)[]): void {
  for (const method of methods) {
    const original = target[method];
    if (typeof original !== 'function') continue;
    const guarded = function (this: unknown, ...args: unknown[]) {
      if (insideTransaction.getStore()) return Promise.reject(new OuterHandleInTransactionError());
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
    Object.defineProperty(target, method, { value: guarded, configurable: true, writable: true });
  }
}

function wrap(kind: Database['kind'], db: Db, close: () => Promise<void>): Database {
  return {
    kind,
    db,
    transaction: (work) => insideTransaction.run(true, () => db.transaction(work)),
    ping: async () => {
      await db.execute('select 1');
    },
    close,
  };
}

async function openPostgres(url: string, poolSize: number, { migrate }: OpenOptions): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  if (migrate) {
    // Several processes may start together: one migrates while the others wait on the lock.
    const client = await pool.connect();
    try {
      await client.query('select pg_advisory_lock(7216351)');
      await migrateNodePg(drizzleNodePg(client, { schema }), { migrationsFolder });
    } finally {
      await client.query('select pg_advisory_unlock(7216351)').catch(() => undefined);
      client.release();
    }
  }
  const db = drizzleNodePg(pool, { schema }) as unknown as Db;
  if (!migrate) {
    try {
      await assertMigrated(db);
    } catch (error) {
      await pool.end();
      throw error;
    }
  }
  guardOuterQueries(pool, ['query']);
  return wrap('postgres', db, () => pool.end());
}

async function openPglite(dataDir: string | undefined, { migrate }: OpenOptions): Promise<Database> {
  const release = dataDir === undefined ? () => undefined : lockDataDir(dataDir);
  try {
    const client = new PGlite(dataDir === undefined ? undefined : join(dataDir, 'pglite'));
    await client.waitReady;
    const migrator = drizzlePglite(client, { schema });
    try {
      if (migrate) await migratePglite(migrator, { migrationsFolder });
      else await assertMigrated(migrator);
    } catch (error) {
      await client.close();
      throw error;
    }
    guardOuterQueries(client, ['query', 'exec']);
    const db = drizzlePglite(client, { schema }) as unknown as Db;
    return wrap('pglite', db, async () => {
      await client.close();
      release();
    });
  } catch (error) {
    release();
    throw error;
  }
}

export function openDatabase(options: DatabaseOptions, open: OpenOptions = { migrate: true }): Promise<Database> {
  return options.kind === 'postgres' ? openPostgres(options.url, options.poolSize ?? 10, open) : openPglite(options.dataDir, open);
}
