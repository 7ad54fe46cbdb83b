import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DatabaseOptions } from '../src/infra/db/client.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { bearer, json, makeMobile, sendOtp } from './helpers/factories.js';

/*
 * Migration 0012 on a database that already has messages: its backfill makes them searchable, in
 * both modes (the migration runs as the app starts, as `npm run migrate` runs it).
 */

const migrationsFolder = join(import.meta.dirname, '..', 'drizzle');
const SEARCH_MIGRATION = '0012_search_and_feedback';
const tempDirs: string[] = [];

/** A copy of the migrations folder holding only those before search. */
function migrationsBeforeSearch(): string {
  const folder = mkdtempSync(join(tmpdir(), 'migrations-'));
  tempDirs.push(folder);
  mkdirSync(join(folder, 'meta'));
  const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as { entries: { tag: string }[] };
  const cut = journal.entries.findIndex((entry) => entry.tag === SEARCH_MIGRATION);
  expect(cut).toBeGreaterThan(0);
  const entries = journal.entries.slice(0, cut);
  for (const { tag } of entries) copyFileSync(join(migrationsFolder, `${tag}.sql`), join(folder, `${tag}.sql`));
  writeFileSync(join(folder, 'meta', '_journal.json'), JSON.stringify({ ...journal, entries }));
  return folder;
}

const old = { userId: randomUUID(), mobile: makeMobile(), roomId: randomUUID(), messageId: randomUUID() };

function oldDataSql(): string[] {
  const at = `'${new Date(Date.now() - 3600_000).toISOString()}'`;
  return [
    `insert into users (id, mobile, created_at, updated_at) values ('${old.userId}', '${old.mobile}', ${at}, ${at})`,
    `insert into chatrooms (id, user_id, title, created_at, updated_at) values ('${old.roomId}', '${old.userId}', 'Written before search', ${at}, ${at})`,
    `insert into messages (id, chatroom_id, user_id, role, content, status, created_at, updated_at, completed_at) ` +
      `values ('${old.messageId}', '${old.roomId}', '${old.userId}', 'user', 'An old note about the Café Müller', 'done', ${at}, ${at}, ${at})`,
  ];
}

async function prepare(database: DatabaseOptions): Promise<DatabaseOptions> {
  const folder = migrationsBeforeSearch();
  if (database.kind === 'postgres') {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      await migrateNodePg(drizzleNodePg(client), { migrationsFolder: folder });
      for (const statement of oldDataSql()) await client.query(statement);
    } finally {
      await client.end();
    }
    return database;
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'search-migration-'));
  tempDirs.push(dataDir);
  const client = new PGlite(join(dataDir, 'pglite')); // where the app keeps it in a data directory
  try {
    await migratePglite(drizzlePglite(client), { migrationsFolder: folder });
    for (const statement of oldDataSql()) await client.exec(statement);
  } finally {
    await client.close();
  }
  return { kind: 'pglite', dataDir };
}

let t: TestApp;
// The database is built from the first migration on, then the app migrates it: slower than the
// template the other files copy, above all on PGlite when the whole suite shares the cores.
beforeAll(async () => {
  t = await startTestApp({ prepareDatabase: prepare });
}, 180_000);
afterAll(async () => {
  await t.close();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

it('makes messages written before it searchable (its backfill), titles too', async () => {
  const { otp } = await sendOtp(t, old.mobile);
  const signedIn = await t.request({ method: 'POST', url: '/auth/verify-otp', ...json({ mobile: old.mobile, otp }) });
  expect(signedIn.statusCode).toBe(200);
  const token = signedIn.json<{ accessToken: string }>().accessToken;
  const res = await t.request({ method: 'GET', url: '/search?q=cafe%20muller', headers: bearer(token) });
  expect(res.statusCode).toBe(200);
  expect(res.json<{ items: { messageId: string | null }[] }>().items.map((hit) => hit.messageId)).toEqual([old.messageId]);
  const title = await t.request({ method: 'GET', url: '/search?q=before%20search', headers: bearer(token) });
  expect(title.json<{ items: { messageId: string | null; chatroomId: string }[] }>().items).toMatchObject([{ messageId: null, chatroomId: old.roomId }]);
});
