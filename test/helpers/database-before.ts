import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import type { DatabaseOptions } from '../../src/infra/db/client.js';
import { migrationsFolder } from '../../src/infra/db/migrations.js';
import { pgliteExtensions } from '../../src/infra/db/pglite-extensions.js';
import { startTestApp, type TestApp } from './app.js';

/** The SQL of a migration, statement by statement (as drizzle splits it). */
export const migrationStatements = (tag: string) => readFileSync(join(migrationsFolder, `${tag}.sql`), 'utf8').split('--> statement-breakpoint');

export interface DatabaseBefore {
  /** For startTestApp's prepareDatabase: the app then migrates the rest of the way as it starts. */
  prepare: (database: DatabaseOptions) => Promise<DatabaseOptions>;
  /** Removes the folders it made. */
  cleanUp: () => void;
}

/**
 * A database as an older release left it, in either mode: the migrations before `tag` applied, then
 * `statements` sent one at a time, outside any transaction (that release's data, or an operator's
 * steps by hand, CONCURRENTLY ones included).
 */
export function databaseBefore(tag: string, statements: () => string[]): DatabaseBefore {
  const tempDirs: string[] = [];
  const tempDir = (prefix: string) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    tempDirs.push(dir);
    return dir;
  };

  /** A copy of the migrations folder holding only those before `tag`. */
  function migrationsBefore(): string {
    const folder = tempDir('migrations-');
    mkdirSync(join(folder, 'meta'));
    const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as { entries: { tag: string }[] };
    const cut = journal.entries.findIndex((entry) => entry.tag === tag);
    if (cut <= 0) throw new Error(`No migration '${tag}' after the first in the journal`);
    const entries = journal.entries.slice(0, cut);
    for (const entry of entries) copyFileSync(join(migrationsFolder, `${entry.tag}.sql`), join(folder, `${entry.tag}.sql`));
    writeFileSync(join(folder, 'meta', '_journal.json'), JSON.stringify({ ...journal, entries }));
    return folder;
  }

  return {
    prepare: async (database) => {
      const folder = migrationsBefore();
      if (database.kind === 'postgres') {
        const client = new pg.Client({ connectionString: database.url });
        await client.connect();
        try {
          await migrateNodePg(drizzleNodePg(client), { migrationsFolder: folder });
          for (const statement of statements()) await client.query(statement);
        } finally {
          await client.end();
        }
        return database;
      }
      const dataDir = tempDir('database-before-');
      // Where the app keeps it in a data directory, with the extensions the migrations create.
      const client = new PGlite(join(dataDir, 'pglite'), { extensions: await pgliteExtensions() });
      try {
        await migratePglite(drizzlePglite(client), { migrationsFolder: folder });
        for (const statement of statements()) await client.exec(statement);
      } finally {
        await client.close();
      }
      return { kind: 'pglite', dataDir };
    },
    cleanUp: () => {
      for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The test file's app, started on `databaseBefore(tag, statements)`: it migrates the rest of the way
 * as it starts. Read `.t` inside tests (it is set before they run).
 */
export function appOnDatabaseBefore(tag: string, statements: () => string[]): { readonly t: TestApp } {
  const before = databaseBefore(tag, statements);
  let app: TestApp | undefined;
  // Built from the first migration on, then migrated by the app: slower than the template the other
  // files copy, above all on PGlite when the whole suite shares the cores.
  beforeAll(async () => {
    app = await startTestApp({ prepareDatabase: before.prepare });
  }, 180_000);
  afterAll(async () => {
    await app?.close();
    before.cleanUp();
  });
  return {
    get t() {
      if (!app) throw new Error('The app starts in beforeAll: read .t inside a test');
      return app;
    },
  };
}
