import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { appOnDatabaseBefore } from './helpers/database-before.js';
import { bearer, json, makeMobile, sendOtp } from './helpers/factories.js';

/*
 * Migration 0012 on a database that already has messages: its backfill makes them searchable, in
 * both modes (the migration runs as the app starts, as `npm run migrate` runs it).
 */

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

const app = appOnDatabaseBefore('0012_search_and_feedback', oldDataSql);

it('makes messages written before it searchable (its backfill), titles too', async () => {
  const { t } = app;
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
