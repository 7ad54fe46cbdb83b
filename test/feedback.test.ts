import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { messages } from '../src/infra/db/schema.js';
import { bearer, signIn, type SignedInUser } from './helpers/factories.js';
import { withGeminiApp } from './helpers/gemini-app.js';
import { createRoom, sendMessage } from './helpers/messages.js';
import { waitUntil } from './helpers/wait.js';

/*
 * Ratings of replies (PUT/DELETE /chatroom/:id/messages/:replyId/feedback) in both modes: shown on
 * the reply to its owner and in their JSON export, replaced by the next, counted in the metrics by
 * the model that wrote the reply and the rating, and refused for prompts, unfinished replies and
 * other users' replies.
 */

const METRICS_TOKEN = 'a-metrics-token-for-feedback-tests';
const MODEL = 'gemini-2.5-flash';
/** A second model a chatroom may switch to. */
const OTHER_MODEL = 'gemini-2.5-flash-lite';
const g = withGeminiApp({
  AUTO_TITLE: 'false',
  BASIC_DAILY_LIMIT: '10000',
  REPLY_WAIT_MS: '10000',
  METRICS_TOKEN,
  GEMINI_MODEL: MODEL,
  GEMINI_MODELS: `${MODEL},${OTHER_MODEL}`,
});

interface Feedback {
  rating: 'up' | 'down';
  reason: string | null;
  comment: string | null;
  updatedAt: string;
}
interface Message {
  id: string;
  role: string;
  status: string;
  model: string | null;
  feedback: Feedback | null;
}

async function exchange(user: SignedInUser) {
  const room = await createRoom(g.t, user);
  const res = await sendMessage(g.t, user, room, 'Tell me something');
  expect(res.statusCode, res.body).toBe(201);
  const { userMessage, reply } = res.json<{ userMessage: Message; reply: Message }>();
  return { room, userMessage, reply };
}

const rate = (user: SignedInUser, room: string, messageId: string, body: unknown) =>
  g.t.request({
    method: 'PUT',
    url: `/chatroom/${room}/messages/${messageId}/feedback`,
    headers: { ...bearer(user.accessToken), 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
const unrate = (user: SignedInUser, room: string, messageId: string) =>
  g.t.request({ method: 'DELETE', url: `/chatroom/${room}/messages/${messageId}/feedback`, headers: bearer(user.accessToken) });

async function counters(): Promise<Record<string, number>> {
  const res = await g.t.request({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.statusCode).toBe(200);
  const found: Record<string, number> = {};
  for (const line of res.body.split('\n')) {
    const match = /^(reply_feedback_(?:given|withdrawn)_total)\{(.*)\} (\d+)$/.exec(line);
    if (match?.[1] && match[2] !== undefined && match[3]) found[`${match[1]}{${match[2]}}`] = Number(match[3]);
  }
  return found;
}
const given = (rating: string, model = MODEL) => `reply_feedback_given_total{model="${model}",rating="${rating}"}`;
const withdrawn = (rating: string, model = MODEL) => `reply_feedback_withdrawn_total{model="${model}",rating="${rating}"}`;
const delta = (after: Record<string, number>, before: Record<string, number>, key: string) => (after[key] ?? 0) - (before[key] ?? 0);

describe('feedback on replies', () => {
  it('is set, replaced, shown on the reply and in the owner\'s export, and taken back', async () => {
    const alice = await signIn(g.t);
    const { room, reply } = await exchange(alice);
    expect(reply.feedback).toBeNull();

    const up = await rate(alice, room, reply.id, { rating: 'up' });
    expect(up.statusCode, up.body).toBe(200);
    expect(up.json<Message>()).toMatchObject({ id: reply.id, feedback: { rating: 'up', reason: null, comment: null } });

    const down = await rate(alice, room, reply.id, { rating: 'down', reason: 'inaccurate', comment: '  The date is wrong.  ' });
    expect(down.statusCode).toBe(200);
    expect(down.json<Message>().feedback).toMatchObject({ rating: 'down', reason: 'inaccurate', comment: 'The date is wrong.' });

    const read = await g.t.request({ method: 'GET', url: `/chatroom/${room}/messages/${reply.id}`, headers: bearer(alice.accessToken) });
    expect(read.json<Message>().feedback).toMatchObject({ rating: 'down', reason: 'inaccurate' });
    const conversation = await g.t.request({ method: 'GET', url: `/chatroom/${room}`, headers: bearer(alice.accessToken) });
    const [prompt, answer] = conversation.json<{ messages: Message[] }>().messages;
    expect(prompt?.feedback).toBeNull();
    expect(answer?.feedback?.rating).toBe('down');
    const exported = await g.t.request({ method: 'GET', url: `/chatroom/${room}/export?format=json`, headers: bearer(alice.accessToken) });
    expect(exported.json<{ messages: Message[] }>().messages[1]?.feedback).toMatchObject({ rating: 'down', comment: 'The date is wrong.' });

    const deleted = await unrate(alice, room, reply.id);
    expect(deleted.statusCode).toBe(204);
    const after = await g.t.request({ method: 'GET', url: `/chatroom/${room}/messages/${reply.id}`, headers: bearer(alice.accessToken) });
    expect(after.json<Message>().feedback).toBeNull();
    // Taking back what is not there is no error.
    expect((await unrate(alice, room, reply.id)).statusCode).toBe(204);
  });

  it('is counted by model and rating: a change counts the new rating and withdraws the old, the same rating again counts nothing', async () => {
    const alice = await signIn(g.t);
    const { room, reply } = await exchange(alice);
    const start = await counters();

    await rate(alice, room, reply.id, { rating: 'up' });
    let now = await counters();
    expect(delta(now, start, given('up'))).toBe(1);

    await rate(alice, room, reply.id, { rating: 'up', comment: 'Even better on second read' });
    expect(delta(await counters(), now, given('up'))).toBe(0);

    now = await counters();
    await rate(alice, room, reply.id, { rating: 'down', reason: 'unhelpful' });
    const changed = await counters();
    expect(delta(changed, now, given('down'))).toBe(1);
    expect(delta(changed, now, withdrawn('up'))).toBe(1);
    expect(delta(changed, now, given('up'))).toBe(0);

    await unrate(alice, room, reply.id);
    const taken = await counters();
    expect(delta(taken, changed, withdrawn('down'))).toBe(1);
    // Standing ratings (given − withdrawn) are back where they started.
    for (const rating of ['up', 'down']) {
      expect(delta(taken, start, given(rating)) - delta(taken, start, withdrawn(rating))).toBe(0);
    }
  });

  it('is counted under the model that wrote the reply, not the one the chatroom switched to since', async () => {
    const alice = await signIn(g.t);
    const { room, userMessage, reply } = await exchange(alice);
    expect(g.gemini.requests.at(-1)?.model).toBe(MODEL);
    expect(reply.model).toBe(MODEL);
    expect(userMessage.model).toBeNull();

    const switched = await g.t.request({
      method: 'PATCH',
      url: `/chatroom/${room}`,
      headers: { ...bearer(alice.accessToken), 'content-type': 'application/json' },
      payload: JSON.stringify({ settings: { model: OTHER_MODEL } }),
    });
    expect(switched.statusCode, switched.body).toBe(200);
    const next = await sendMessage(g.t, alice, room, 'And now?');
    expect(next.statusCode, next.body).toBe(201);
    const newer = next.json<{ reply: Message }>().reply;
    expect(g.gemini.requests.at(-1)?.model).toBe(OTHER_MODEL);
    expect(newer.model).toBe(OTHER_MODEL);

    const start = await counters();
    const rated = await rate(alice, room, reply.id, { rating: 'down', reason: 'inaccurate' });
    expect(rated.statusCode, rated.body).toBe(200);
    expect(rated.json<Message>().model).toBe(MODEL);
    await rate(alice, room, newer.id, { rating: 'up' });
    const now = await counters();
    expect(delta(now, start, given('down', MODEL))).toBe(1);
    expect(delta(now, start, given('down', OTHER_MODEL))).toBe(0);
    expect(delta(now, start, given('up', OTHER_MODEL))).toBe(1);

    // Each reply's model is in the owner's export too.
    const exported = await g.t.request({ method: 'GET', url: `/chatroom/${room}/export?format=json`, headers: bearer(alice.accessToken) });
    expect(exported.json<{ messages: Message[] }>().messages.map((message) => message.model)).toEqual([null, MODEL, null, OTHER_MODEL]);

    await unrate(alice, room, reply.id);
    const taken = await counters();
    expect(delta(taken, now, withdrawn('down', MODEL))).toBe(1);
    expect(delta(taken, now, withdrawn('down', OTHER_MODEL))).toBe(0);
  });

  it('counts a reply stored before replies named their model under the chatroom\'s model at rating time', async () => {
    const alice = await signIn(g.t);
    const { room, reply } = await exchange(alice);
    // As migration 0015 leaves the replies written before it.
    await g.t.container.database.db.update(messages).set({ model: null }).where(eq(messages.id, reply.id));
    const read = await g.t.request({ method: 'GET', url: `/chatroom/${room}/messages/${reply.id}`, headers: bearer(alice.accessToken) });
    expect(read.json<Message>().model).toBeNull();
    await g.t.request({
      method: 'PATCH',
      url: `/chatroom/${room}`,
      headers: { ...bearer(alice.accessToken), 'content-type': 'application/json' },
      payload: JSON.stringify({ settings: { model: OTHER_MODEL } }),
    });

    const start = await counters();
    await rate(alice, room, reply.id, { rating: 'up' });
    const now = await counters();
    expect(delta(now, start, given('up', OTHER_MODEL))).toBe(1);
    expect(delta(now, start, given('up', MODEL))).toBe(0);
    // Withdrawn under the label it was given with.
    await unrate(alice, room, reply.id);
    expect(delta(await counters(), now, withdrawn('up', OTHER_MODEL))).toBe(1);
  });

  it('refuses a prompt and an unfinished reply (400), another user\'s reply (404) and bad bodies (400), changing nothing', async () => {
    const alice = await signIn(g.t);
    const bob = await signIn(g.t);
    const { room, userMessage, reply } = await exchange(alice);
    await rate(alice, room, reply.id, { rating: 'up', comment: 'mine' });

    const onPrompt = await rate(alice, room, userMessage.id, { rating: 'up' });
    expect(onPrompt.statusCode).toBe(400);
    expect(onPrompt.json().code).toBe('VALIDATION_FAILED');
    expect((await unrate(alice, room, userMessage.id)).statusCode).toBe(400);

    g.gemini.enqueue({ kind: 'hang' });
    const hanging = g.gemini.requests.length;
    const pending = await sendMessage(g.t, alice, room, 'This one never ends', { wait: false });
    expect(pending.statusCode).toBe(202);
    const unfinished = pending.json<{ reply: Message }>().reply;
    // Stopped while the model call hangs: stopped while still pending, the reply would leave the
    // hang queued for Bob's prompt below.
    await waitUntil(() => g.gemini.requests.length === hanging + 1, 'the unfinished reply reaches the model');
    const early = await rate(alice, room, unfinished.id, { rating: 'down' });
    expect(early.statusCode).toBe(400);
    expect(early.json().code).toBe('VALIDATION_FAILED');
    const stopped = await g.t.request({ method: 'POST', url: `/chatroom/${room}/messages/${unfinished.id}/stop`, headers: bearer(alice.accessToken) });
    expect(stopped.statusCode).toBe(200);
    await waitUntil(() => g.gemini.requests[hanging]?.closedEarly === true, 'the stop cancels the model call');

    const bobRoom = (await exchange(bob)).room;
    for (const [targetRoom, target] of [
      [room, reply.id],
      [bobRoom, reply.id],
    ] as const) {
      const foreign = await rate(bob, targetRoom, target, { rating: 'down', comment: 'hijack' });
      expect(foreign.statusCode).toBe(404);
      expect((await unrate(bob, targetRoom, target)).statusCode).toBe(404);
    }

    for (const body of [{}, { rating: 'sideways' }, { rating: 'up', reason: 'boring' }, { rating: 'up', comment: 'x'.repeat(1001) }, { rating: 'up', comment: 'nul\u0000' }]) {
      const res = await rate(alice, room, reply.id, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().code).toBe('VALIDATION_FAILED');
    }
    // Ids that are not UUIDs name nothing: 404 with what was not found, never a failed statement.
    for (const [targetRoom, target, code] of [
      ['not-a-uuid', reply.id, 'CHATROOM_NOT_FOUND'],
      [room, 'not-a-uuid', 'MESSAGE_NOT_FOUND'],
    ] as const) {
      const put = await rate(alice, targetRoom, target, { rating: 'down' });
      expect(put.statusCode, `${targetRoom}/${target}`).toBe(404);
      expect(put.json().code).toBe(code);
      const removed = await unrate(alice, targetRoom, target);
      expect(removed.statusCode).toBe(404);
      expect(removed.json().code).toBe(code);
    }
    const still = await g.t.request({ method: 'GET', url: `/chatroom/${room}/messages/${reply.id}`, headers: bearer(alice.accessToken) });
    expect(still.json<Message>().feedback).toMatchObject({ rating: 'up', comment: 'mine' });
  });
});
