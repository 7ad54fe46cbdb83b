import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGemini, type FakeGemini } from './fakes/gemini-server.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { bearer, signIn } from './helpers/factories.js';
import { createRoom, sendMessage } from './helpers/messages.js';

/*
 * During a rolling deploy the old release keeps serving while the new release's migration adds
 * columns. Its queries must keep working on every pooled connection when the tables they read gain
 * a column: a statement prepared by name whose result changed shape would fail on every connection
 * that prepared it, until the process restarted.
 */
let gemini: FakeGemini;
let t: TestApp;

beforeAll(async () => {
  gemini = await startFakeGemini();
  // A database of the test's own: the columns it adds must not reach other tests.
  t = await startTestApp({ env: { GEMINI_API_KEY: 'test-key', GEMINI_BASE_URL: gemini.url, BASIC_DAILY_LIMIT: '100' }, prepareDatabase: (database) => Promise.resolve(database) });
});
afterAll(async () => {
  await t.close();
  await gemini.close();
});

describe('a migration that adds columns while the release runs', () => {
  it('leaves sends, replies, lists and conversations working on every pooled connection', async () => {
    const user = await signIn(t);
    const rooms = [await createRoom(t, user), await createRoom(t, user), await createRoom(t, user)];
    const exercise = async (round: string) => {
      // In parallel, so that the statements are prepared on, then run by, several pooled connections.
      const sends = await Promise.all(rooms.map((room) => sendMessage(t, user, room, `${round} prompt`)));
      for (const sent of sends) expect(sent.statusCode, sent.body).toBe(201);
      for (const room of rooms) {
        const conversation = await t.request({ method: 'GET', url: `/chatroom/${room}`, headers: bearer(user.accessToken) });
        expect(conversation.statusCode, conversation.body).toBe(200);
      }
      const list = await t.request({ method: 'GET', url: '/chatroom?limit=5', headers: bearer(user.accessToken) });
      expect(list.statusCode, list.body).toBe(200);
    };
    await exercise('before');
    await exercise('before, again');
    await t.container.database.db.execute(sql`alter table messages add column added_by_next_release text`);
    await t.container.database.db.execute(sql`alter table chatrooms add column added_by_next_release text`);
    await exercise('after');
    await exercise('after, again');
  });
});
