import { AsyncLocalStorage } from 'node:async_hooks';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { ExtractTablesWithRelations } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { lockDataDir } from './data-dir-lock.js';
import { assertMigrated, migrationsFolder } from './migrations.js';
import { pgliteExtensions } from './pglite-extensions.js';
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

export interface PostgresOptions {
  kind: 'postgres';
  url: string;
  poolSize?: number;
  /** How long a query waits for a connection (a free slot, or a new one being opened). */
  connectTimeoutMs?: number;
  /** How long an unused connection stays in the pool; 0 = until it breaks. */
  idleTimeoutMs?: number;
  /** PostgreSQL statement_timeout of every pooled connection; 0 = none. */
  statementTimeoutMs?: number;
}

/** Where connection trouble is reported: a broken connection is logged, never thrown at the process. */
export type ConnectionErrorLog = (error: Error, message: string) => void;

export type DatabaseOptions =
  | PostgresOptions
  /**
   * dataDir undefined = in memory (tests). `template`, in memory only: a data directory dumped by
   * PGlite's `dumpDataDir` to start from instead of a new cluster (tests keep one migrated: a new
   * cluster costs seconds, loading a dump a fraction of that).
   */
  | { kind: 'pglite'; dataDir?: string; template?: Blob };

export interface OpenOptions {
  /** Apply pending migrations (MIGRATE_ON_START); otherwise refuse a schema older than the code. */
  migrate: boolean;
  /** Where broken PostgreSQL connections are reported (they are replaced, never fatal). */
  onConnectionError?: ConnectionErrorLog;
}

const ignoreConnectionErrors: ConnectionErrorLog = () => undefined;

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

const POSTGRES_DEFAULTS = { poolSize: 10, connectTimeoutMs: 5_000, idleTimeoutMs: 30_000, statementTimeoutMs: 10_000 };
// A reply lost on the way (a half-open connection after a failover) is given up a little after the
// server itself would have cancelled the statement.
const QUERY_TIMEOUT_GRACE_MS = 2_000;

function createPool(options: PostgresOptions, onConnectionError: ConnectionErrorLog): pg.Pool {
  const { poolSize, connectTimeoutMs, idleTimeoutMs, statementTimeoutMs } = { ...POSTGRES_DEFAULTS, ...stripUndefined(options) };
  const pool = new pg.Pool({
    connectionString: options.url,
    max: poolSize,
    connectionTimeoutMillis: connectTimeoutMs,
    idleTimeoutMillis: idleTimeoutMs,
    ...(statementTimeoutMs > 0 ? { statement_timeout: statementTimeoutMs, query_timeout: statementTimeoutMs + QUERY_TIMEOUT_GRACE_MS } : {}),
    // Notices a peer that vanished (failover, network cut) on a connection that sits idle.
    keepAlive: true,
  });
  /*
   * A terminated backend (pg_terminate_backend, a restart, a failover) makes its client emit 'error';
   * unheard, that kills the process. The pool hears it for idle clients and drops them; a client that
   * is checked out (between the queries of a transaction) needs its own listener. Either way the
   * client is discarded and the next query opens a fresh connection.
   */
  pool.on('error', (error) => onConnectionError(error, 'idle PostgreSQL connection lost; the pool replaces it'));
  pool.on('connect', (client) => {
    // Logged by the pool when idle; when in use, the query that runs on it next fails and is reported.
    client.on('error', () => undefined);
  });
  return pool;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

async function openPostgres(options: PostgresOptions, { migrate, onConnectionError = ignoreConnectionErrors }: OpenOptions): Promise<Database> {
  const pool = createPool(options, onConnectionError);
  const db = drizzleNodePg(pool, { schema }) as unknown as Db;
  if (!migrate) {
    try {
      await assertMigrated(db);
    } catch (error) {
      await pool.end();
      throw error;
    }
  } else {
    await migrateUnderLock(pool);
  }
  guardOuterQueries(pool, ['query']);
  return wrap('postgres', db, () => pool.end());
}

/** Several processes may start together: one migrates while the others wait on the lock. */
async function migrateUnderLock(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    // Waiting for another process's migration, and the migration itself, may outlast statement_timeout.
    await client.query('set statement_timeout = 0');
    await client.query('select pg_advisory_lock(7216351)');
    await migrateNodePg(drizzleNodePg(client, { schema }), { migrationsFolder });
  } finally {
    const notRestored = await client
      .query('select pg_advisory_unlock(7216351)')
      .then(() => client.query('reset statement_timeout'))
      .then(
        () => undefined,
        (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
      );
    // A connection whose session could not be restored is closed rather than pooled.
    client.release(notRestored);
  }
}

async function openPglite({ dataDir, template }: { dataDir?: string; template?: Blob }, { migrate }: OpenOptions): Promise<Database> {
  if (template && dataDir !== undefined) throw new Error('a PGlite template is for a database in memory, not one in a data directory');
  const release = dataDir === undefined ? () => undefined : lockDataDir(dataDir);
  try {
    // Loaded only here: a process on PostgreSQL never holds the embedded database's code.
    const [{ PGlite: EmbeddedPostgres }, { drizzle: drizzlePglite }, { migrate: migratePglite }, extensions] = await Promise.all([
      import('@electric-sql/pglite'),
      import('drizzle-orm/pglite'),
      import('drizzle-orm/pglite/migrator'),
      pgliteExtensions(),
    ]);
    const client: PGlite =
      dataDir === undefined ? new EmbeddedPostgres({ loadDataDir: template, extensions }) : new EmbeddedPostgres(join(dataDir, 'pglite'), { extensions });
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
  return options.kind === 'postgres' ? openPostgres(options, open) : openPglite(options, open);
}
