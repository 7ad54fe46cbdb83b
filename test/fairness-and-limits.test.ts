import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { bearer, signIn } from './helpers/factories.js';
import { createRoom, pollUntilFinished, sendMessage, type Message } from './helpers/messages.js';
import { testMode } from './helpers/mode.js';
import { redisClientsOfThisProcess } from './helpers/redis-clients.js';
import { heldText, openSse, type LiveSse } from './helpers/sse-client.js';
import { gate, waitUntil } from './helpers/wait.js';
import { startFakeGemini, type FakeGemini } from './fakes/gemini-server.js';

let gemini: FakeGemini;
let t: TestApp;
let base: string;

const LISTENERS = 200;

beforeAll(async () => {
  gemini = await startFakeGemini();
  t = await startTestApp({
    env: {
      GEMINI_API_KEY: 'test-key',
      GEMINI_BASE_URL: gemini.url,
      // The global budget: one generation at a time, so that the queue is what decides who goes next.
      GENERATION_CONCURRENCY: '1',
      BASIC_DAILY_LIMIT: '1000',
      GENERATION_MAX_WAITING_BASIC: '50',
      MAX_OPEN_STREAMS_PER_USER: String(LISTENERS),
    },
  });
  base = await t.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await t.close();
  await gemini.close();
});
beforeEach(() => gemini.reset());

type Exchange = { userMessage: Message; reply: Message };

describe('fairness between users', () => {
  it('serves a user with one prompt before the backlog of a user with fifty, and caps the backlog', async () => {
    const held = gate();
    gemini.enqueue({ kind: 'reply', chunks: ['A first'], gate: held.promise });
    const [alice, bob] = [await signIn(t), await signIn(t)];
    const aliceReplies: { room: string; id: string }[] = [];
    for (let i = 0; i < 50; i++) {
      const room = await createRoom(t, alice);
      const res = await sendMessage(t, alice, room, `alice ${i}`, { wait: false });
      expect(res.statusCode).toBe(202);
      aliceReplies.push({ room, id: res.json<Exchange>().reply.id });
    }
    // The 51st waiting reply is over Alice's cap: refused, nothing stored or spent.
    const over = await sendMessage(t, alice, await createRoom(t, alice), 'one too many', { wait: false });
    expect(over.statusCode).toBe(429);
    expect(over.json()).toMatchObject({ code: 'TOO_MANY_PENDING_REPLIES', status: 429 });
    const status = await t.request({ method: 'GET', url: '/subscription/status', headers: bearer(alice.accessToken) });
    expect(status.json().usage.used).toBe(50);

    const bobsRoom = await createRoom(t, bob);
    const bobs = (await sendMessage(t, bob, bobsRoom, 'bob only', { wait: false })).json<Exchange>().reply;
    held.open();

    expect(await pollUntilFinished(t, bob, bobsRoom, bobs.id)).toMatchObject({ status: 'done' });
    for (const { room, id } of aliceReplies) expect((await pollUntilFinished(t, alice, room, id)).status).toBe('done');
    const completionOrder = gemini.happenings.filter((h) => h.what === 'ended').map((h) => gemini.prompts()[h.request]);
    expect(completionOrder).toHaveLength(51);
    // Alice's first was already running; Bob's goes next, before the other 49 of hers.
    expect(completionOrder.indexOf('bob only')).toBeLessThanOrEqual(1);
  });
});

describe('listeners', () => {
  it(`shares one reader among ${LISTENERS} listeners of a reply, and caps a user's open streams`, async () => {
    const held = gate();
    gemini.enqueue({ kind: 'reply', chunks: ['every ', 'listener ', 'gets ', 'this'], chunkDelayMs: 20, gate: held.promise });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const replyId = (await sendMessage(t, user, room, 'broadcast', { wait: false })).json<Exchange>().reply.id;
    await waitUntil(() => gemini.requests.length === 1, 'the model was called');
    const redisUrl = process.env.TEST_REDIS_URL ?? '';
    const clientsBefore = testMode === 'services' ? await redisClientsOfThisProcess(redisUrl) : 0;

    const url = `${base}/chatroom/${room}/messages/${replyId}/stream`;
    const listeners: LiveSse[] = await Promise.all(Array.from({ length: LISTENERS }, () => openSse(url, bearer(user.accessToken))));
    expect(listeners.every((listener) => listener.status === 200)).toBe(true);
    const refused = await openSse(url, bearer(user.accessToken));
    expect(refused.status).toBe(429);
    expect(refused.problem?.code).toBe('TOO_MANY_STREAMS');

    if (testMode === 'services') {
      const clientsAfter = await redisClientsOfThisProcess(redisUrl);
      expect(clientsAfter - clientsBefore).toBeLessThanOrEqual(3);
    }
    held.open();
    await Promise.all(listeners.map((listener) => listener.finished));
    const stored = await pollUntilFinished(t, user, room, replyId);
    expect(stored.content).toBe('every listener gets this');
    for (const listener of listeners) {
      expect(heldText(listener.events)).toBe(stored.content);
      expect(listener.events.at(-1)?.event).toBe('done');
    }
    // The slots are given back when the streams end.
    const again = await openSse(url, bearer(user.accessToken));
    expect(again.status).toBe(200);
    await again.finished;
  }, 60_000);
});
