import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { databaseBefore } from './helpers/database-before.js';
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

const before = databaseBefore('0012_search_and_feedback', oldDataSql);

let t: TestApp;
// The database is built from the first migration on, then the app migrates it: slower than the
// template the other files copy, above all on PGlite when the whole suite shares the cores.
beforeAll(async () => {
  t = await startTestApp({ prepareDatabase: before.prepare });
}, 180_000);
afterAll(async () => {
  await t.close();
  before.cleanUp();
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
