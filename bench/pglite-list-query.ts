/**
 * What one uncached `GET /chatroom` costs in embedded mode at the database, in isolation: the list's
 * query for a user with 20 chatrooms, run one call after another in this process, through the
 * repository (drizzle's session, as the server runs it) and through PGlite's own client (the same SQL
 * text and parameters). Explains the embedded-against-services ratio of scenario 2 (bench/README.md).
 *
 *   node --import tsx bench/pglite-list-query.ts [calls]
 */
import { PgDialect } from 'drizzle-orm/pg-core';
import type { PGlite } from '@electric-sql/pglite';
import { openDatabase } from '../src/infra/db/client.js';
import { users } from '../src/infra/db/schema.js';
import { insertChatroom, listChatrooms, listChatroomsStatement } from '../src/modules/chatrooms/chatroom.repository.js';

const CALLS = Number(process.argv[2] ?? 5000);
const ROOMS = 20;

const database = await openDatabase({ kind: 'pglite' });
const { db } = database;
const [user] = await db.insert(users).values({ mobile: '+15550000001' }).returning();
if (!user) throw new Error('no user');
for (let i = 0; i < ROOMS; i++) await insertChatroom(db, user.id, `Room ${i}`, undefined, new Date(Date.now() - i * 60_000));

// The statement listChatrooms sends (first page: limit + 1 rows), for PGlite's client on its own.
const statement = new PgDialect().sqlToQuery(listChatroomsStatement(user.id, ROOMS + 1));
const client = (db as unknown as { $client: PGlite }).$client;

async function microsecondsPerCall(work: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < CALLS / 5; i++) await work(); // warm-up: JIT, PGlite's caches
  const start = performance.now();
  for (let i = 0; i < CALLS; i++) await work();
  return ((performance.now() - start) / CALLS) * 1000;
}

console.log(`PGlite, ${ROOMS} chatrooms, ${CALLS} calls each, alternating twice; µs per call`);
for (let round = 1; round <= 2; round++) {
  const repository = await microsecondsPerCall(() => listChatrooms(db, user.id, ROOMS + 1));
  const raw = await microsecondsPerCall(() => client.query(statement.sql, statement.params));
  console.log(`round ${round}: listChatrooms (drizzle's session, rows mapped) ${repository.toFixed(0)}; PGlite's client, same SQL ${raw.toFixed(0)}`);
}
await database.close();
