import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { expect, it } from 'vitest';
import { executeRaw } from '../src/infra/db/raw-rows.js';
import { appOnDatabaseBefore, migrationStatements } from './helpers/database-before.js';
import { bearer, json, makeMobile, sendOtp } from './helpers/factories.js';

/*
 * Migration 0014 (message_search partitioned by user) the way README "Migration 0014" tells an
 * operator with a large table to run it: the migration's first statement by hand (the partitioned
 * table beside the old one, written by triggers of its own), the fill in batches, each partition's
 * index CONCURRENTLY and attached; then the app's migration does only the swap. Messages written and
 * deleted while the new table is being built are right afterwards. Both modes.
 */

const PARTITIONS_MIGRATION = '0014_search_partitions';

const user = { id: randomUUID(), mobile: makeMobile(), roomId: randomUUID() };
const kept = randomUUID();
const deleted = randomUUID();
const during = randomUUID();

function message(id: string, content: string): string {
  const at = `'${new Date(Date.now() - 3600_000).toISOString()}'`;
  return (
    `insert into messages (id, chatroom_id, user_id, role, content, status, created_at, updated_at, completed_at) ` +
    `values ('${id}', '${user.roomId}', '${user.id}', 'user', '${content}', 'done', ${at}, ${at}, ${at})`
  );
}

/** README "Migration 0014", step by step, each statement as the operator sends it (no transaction around the CONCURRENTLY ones). */
function byHand(): string[] {
  const partitions = Array.from({ length: 64 }, (_, i) => `message_search_p${String(i).padStart(2, '0')}`);
  return [
    `insert into users (id, mobile, created_at, updated_at) values ('${user.id}', '${user.mobile}', now(), now())`,
    `insert into chatrooms (id, user_id, title, created_at, updated_at) values ('${user.roomId}', '${user.id}', 'Before partitions', now(), now())`,
    message(kept, 'An old note about the Café Müller'),
    message(deleted, 'A note about Zanzibar, deleted while the table is rebuilt'),
    // 1. The migration's first statement: message_search_next and its triggers.
    migrationStatements(PARTITIONS_MIGRATION)[0] ?? '',
    // 2. The fill, in batches of message ids (one batch covers this small table).
    `insert into message_search_next (message_id, user_id, created_at, vector)
       select message_id, user_id, created_at, vector from message_search
       where message_id between '00000000-0000-0000-0000-000000000000' and 'ffffffff-ffff-ffff-ffff-ffffffffffff'
       on conflict (user_id, message_id) do nothing`,
    // Traffic goes on meanwhile: only message_search_next's own triggers bring these to it.
    message(during, 'Written during the rebuild: Lisbon trams'),
    `delete from messages where id = '${deleted}'`,
    // 3. The index: on the parent only, each partition's concurrently, then attached.
    'create index if not exists message_search_next_user_vector_idx on only message_search_next using gin (user_id, vector)',
    ...partitions.flatMap((partition) => [
      `create index concurrently if not exists ${partition}_user_id_vector_idx on ${partition} using gin (user_id, vector)`,
      `alter index message_search_next_user_vector_idx attach partition ${partition}_user_id_vector_idx`,
    ]),
  ];
}

const app = appOnDatabaseBefore(PARTITIONS_MIGRATION, byHand);

async function found(token: string, q: string): Promise<(string | null)[]> {
  const { t } = app;
  const res = await t.request({ method: 'GET', url: `/search?q=${encodeURIComponent(q)}`, headers: bearer(token) });
  expect(res.statusCode).toBe(200);
  return res.json<{ items: { messageId: string | null }[] }>().items.map((hit) => hit.messageId);
}

it('done by hand, then swapped in by the migration: old messages, those written meanwhile, none deleted meanwhile', async () => {
  const { t } = app;
  const { otp } = await sendOtp(t, user.mobile);
  const signedIn = await t.request({ method: 'POST', url: '/auth/verify-otp', ...json({ mobile: user.mobile, otp }) });
  expect(signedIn.statusCode).toBe(200);
  const token = signedIn.json<{ accessToken: string }>().accessToken;
  expect(await found(token, 'cafe muller')).toEqual([kept]);
  expect(await found(token, 'lisbon')).toEqual([during]);
  expect(await found(token, 'zanzibar')).toEqual([]);

  const db = t.container.database.db;
  const [shape] = await executeRaw(
    db,
    sql`select c.relkind::text as kind, i.indisvalid as valid, (select count(*)::int from pg_trigger where tgname = 'messages_search_next_write') as staging
      from pg_class c, pg_index i where c.oid = 'message_search'::regclass and i.indexrelid = 'message_search_user_vector_idx'::regclass`,
  );
  // The partitioned table under the old name, its index whole (every partition's attached), the staging trigger gone.
  expect(shape).toEqual({ kind: 'p', valid: true, staging: 0 });

  // And the triggers after the swap write the partitioned table.
  const after = randomUUID();
  await executeRaw(db, sql.raw(message(after, 'Written after the swap: Porto tiles')));
  expect(await found(token, 'porto')).toEqual([after]);
});
