import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { bearer, signIn, type SignedInUser } from './helpers/factories.js';
import { createRoom, pollUntilFinished, remainingOf, sendMessage, type Message } from './helpers/messages.js';
import { heldText, isEnd, openSse } from './helpers/sse-client.js';
import { gate, waitUntil } from './helpers/wait.js';
import { startFakeGemini, type FakeGemini } from './fakes/gemini-server.js';

let gemini: FakeGemini;
let t: TestApp;
let base: string;

beforeAll(async () => {
  gemini = await startFakeGemini();
  t = await startTestApp({
    env: {
      GEMINI_API_KEY: 'test-key',
      GEMINI_BASE_URL: gemini.url,
      GEMINI_TIMEOUT_MS: '3000',
      GENERATION_MAX_ATTEMPTS: '3',
      REPLY_WAIT_MS: '10000',
      SSE_KEEPALIVE_MS: '200',
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

const stop = (user: SignedInUser, room: string, replyId: string) =>
  t.request({ method: 'POST', url: `/chatroom/${room}/messages/${replyId}/stop`, headers: bearer(user.accessToken) });

const follow = (user: SignedInUser, room: string, replyId: string, lastEventId?: string) =>
  openSse(`${base}/chatroom/${room}/messages/${replyId}/stream`, {
    ...bearer(user.accessToken),
    ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
  });

const usageOf = async (user: SignedInUser) =>
  (await t.request({ method: 'GET', url: '/subscription/status', headers: bearer(user.accessToken) })).json<{ usage: { used: number } }>().usage;

async function sendAsync(user: SignedInUser, room: string, content: string): Promise<Message> {
  const res = await sendMessage(t, user, room, content, { wait: false });
  expect(res.statusCode).toBe(202);
  return res.json<Exchange>().reply;
}

describe('order within a chatroom', () => {
  it('generates the second reply only after the first, with the first prompt and reply as its context', async () => {
    gemini.enqueue({ kind: 'reply', chunks: ['Four', ', of course.'], chunkDelayMs: 60 }, { kind: 'reply', chunks: ['Paris.'] });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    // Two tabs: the second prompt is sent before the first reply has finished.
    const first = await sendAsync(user, room, 'What is 2+2?');
    const second = await sendAsync(user, room, 'And the capital of France?');

    expect(await pollUntilFinished(t, user, room, second.id)).toMatchObject({ status: 'done', content: 'Paris.' });
    expect(await pollUntilFinished(t, user, room, first.id)).toMatchObject({ status: 'done', content: 'Four, of course.' });
    const contents = gemini.requests[1]?.body.contents?.map((c) => [c.role, c.parts?.map((p) => p.text).join('')]);
    expect(contents).toEqual([
      ['user', 'What is 2+2?'],
      ['model', 'Four, of course.'],
      ['user', 'And the capital of France?'],
    ]);
    const firstEnded = gemini.happenings.findIndex((h) => h.request === 0 && h.what === 'ended');
    const secondArrived = gemini.happenings.findIndex((h) => h.request === 1 && h.what === 'received');
    expect(firstEnded).toBeGreaterThanOrEqual(0);
    expect(secondArrived).toBeGreaterThan(firstEnded);
  });

  it('runs different chatrooms side by side', async () => {
    const held = gate();
    gemini.enqueue({ kind: 'reply', chunks: ['held'], gate: held.promise });
    const user = await signIn(t);
    const [roomA, roomB] = [await createRoom(t, user), await createRoom(t, user)];
    const a = await sendAsync(user, roomA, 'first room');
    await waitUntil(() => gemini.requests.length === 1, 'the first room reaches the model');
    const b = await sendAsync(user, roomB, 'second room');
    // The other chatroom's reply finishes while the first is still held at the model.
    expect(await pollUntilFinished(t, user, roomB, b.id)).toMatchObject({ status: 'done' });
    held.open();
    expect(await pollUntilFinished(t, user, roomA, a.id)).toMatchObject({ status: 'done', content: 'held' });
  });
});

describe('stop', () => {
  it('cancels the model call while streaming and keeps the text so far', async () => {
    gemini.enqueue({ kind: 'reply', chunks: ['Once ', 'upon ', 'a time', ' there was'], hangAfter: 2 });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const reply = await sendAsync(user, room, 'Tell me a long story');
    await waitUntil(() => gemini.requests[0]?.chunksSent === 2, 'two chunks were streamed');
    const listener = await follow(user, room, reply.id);
    await listener.until((events) => heldText(events) === 'Once upon ', 'the text so far');

    const res = await stop(user, room, reply.id);
    expect(res.statusCode).toBe(200);
    expect(res.json<Message>()).toMatchObject({ id: reply.id, status: 'done', finishReason: 'STOPPED', content: 'Once upon ' });
    await waitUntil(() => gemini.requests[0]?.closedEarly === true, 'the model call was cancelled');
    await listener.finished;
    expect(listener.events.at(-1)).toMatchObject({ event: 'done', data: { finishReason: 'STOPPED', content: 'Once upon ' } });
    expect(await pollUntilFinished(t, user, room, reply.id)).toMatchObject({ status: 'done', content: 'Once upon ' });
    // Text came, so the prompt stays spent.
    expect((await usageOf(user)).used).toBe(1);
  });

  it('gives the prompt back when stopped before the first text; stopping again changes nothing', async () => {
    gemini.enqueue({ kind: 'hang' });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const reply = await sendAsync(user, room, 'hello?');
    await waitUntil(() => gemini.requests.length === 1, 'the model was called');

    const first = await stop(user, room, reply.id);
    expect(first.json<Message>()).toMatchObject({ status: 'done', finishReason: 'STOPPED', content: '' });
    await waitUntil(() => gemini.requests[0]?.closedEarly === true, 'the model call was cancelled');
    const second = await stop(user, room, reply.id);
    expect(second.statusCode).toBe(200);
    expect(second.json()).toEqual(first.json());
    expect((await usageOf(user)).used).toBe(0);
  });

  it('returns a finished reply unchanged, and hides another user’s reply (404)', async () => {
    const [alice, bob] = [await signIn(t), await signIn(t)];
    const room = await createRoom(t, alice);
    const done = (await sendMessage(t, alice, room, 'quick')).json<Exchange>().reply;
    const res = await stop(alice, room, done.id);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(done);

    const bobsRoom = await createRoom(t, bob);
    for (const [chatroom, code] of [
      [room, 'CHATROOM_NOT_FOUND'],
      [bobsRoom, 'MESSAGE_NOT_FOUND'],
    ] as const) {
      const foreign = await stop(bob, chatroom, done.id);
      expect(foreign.statusCode).toBe(404);
      expect(foreign.json().code).toBe(code);
    }
  });

  it('lets the next reply of the chatroom run once the one before is stopped', async () => {
    gemini.enqueue({ kind: 'hang' }, { kind: 'reply', chunks: ['next one'] });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const stuck = await sendAsync(user, room, 'first');
    const queued = await sendAsync(user, room, 'second');
    await waitUntil(() => gemini.requests.length === 1, 'the first reached the model');
    expect((await stop(user, room, stuck.id)).statusCode).toBe(200);
    expect(await pollUntilFinished(t, user, room, queued.id)).toMatchObject({ status: 'done', content: 'next one' });
  });
});

describe('deleting a chatroom', () => {
  it('stops its generation and ends the streams of its replies', async () => {
    gemini.enqueue({ kind: 'reply', chunks: ['partial ', 'never finished'], hangAfter: 1 });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const reply = await sendAsync(user, room, 'doomed');
    const listener = await follow(user, room, reply.id);
    await listener.until((events) => heldText(events) === 'partial ', 'the first chunk');

    const deleted = await t.request({ method: 'DELETE', url: `/chatroom/${room}`, headers: bearer(user.accessToken) });
    expect(deleted.statusCode).toBe(204);
    await listener.finished;
    // Whichever comes first: the worker's stop (done, STOPPED) or the deletion (the reply is gone).
    const last = listener.events.at(-1);
    if (last?.event === 'done') expect(last.data).toMatchObject({ finishReason: 'STOPPED', content: 'partial ' });
    else expect(last).toMatchObject({ event: 'error', data: { code: 'MESSAGE_NOT_FOUND' } });
    await waitUntil(() => gemini.requests[0]?.closedEarly === true, 'the model call was cancelled');
  });
});

describe('resumable streams', () => {
  it('puts an id on every event, and a client that reconnects with Last-Event-ID gets exactly the rest', async () => {
    gemini.enqueue({ kind: 'reply', chunks: ['Alpha ', 'beta ', 'gamma ', 'delta ', 'epsilon'], chunkDelayMs: 80 });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const first = await openSse(
      `${base}/chatroom/${room}/message`,
      { ...bearer(user.accessToken), 'content-type': 'application/json' },
      { method: 'POST', body: JSON.stringify({ content: 'Greek letters please' }) },
    );
    expect(first.status).toBe(200);
    await first.until((events) => events.filter((e) => e.event === 'delta').length >= 2, 'two deltas');
    first.disconnect();
    await first.finished;
    const seen = [...first.events];
    expect(seen.every((event) => event.id !== undefined)).toBe(true);
    const replyId = (seen[0]?.data as Exchange).reply.id;

    const rest = await follow(user, room, replyId, seen.at(-1)?.id);
    await rest.finished;
    expect(rest.events.every((event) => event.id !== undefined)).toBe(true);
    expect(rest.events.at(-1)?.event).toBe('done');
    const stored = await pollUntilFinished(t, user, room, replyId);
    expect(heldText([...seen, ...rest.events])).toBe(stored.content);
    expect(stored.content).toBe('Alpha beta gamma delta epsilon');
    // Nothing twice: every id after the reconnect is new.
    const ids = new Set(seen.map((e) => e.id));
    expect(rest.events.filter((e) => e.event === 'delta').some((e) => ids.has(e.id))).toBe(false);
  });

  it('resumes exactly across a retry that starts the text over', async () => {
    // The first attempt streams two chunks and then goes silent until GEMINI_TIMEOUT_MS; the retry starts over.
    gemini.enqueue({ kind: 'reply', chunks: ['Draft ', 'text ', 'lost'], hangAfter: 2 }, { kind: 'reply', chunks: ['Final ', 'answer.'], chunkDelayMs: 40 });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const reply = await sendAsync(user, room, 'try twice');
    const first = await follow(user, room, reply.id);
    await first.until((events) => heldText(events) === 'Draft text ', 'the first attempt’s text');
    first.disconnect();
    await first.finished;

    const rest = await follow(user, room, reply.id, first.events.at(-1)?.id);
    await rest.finished;
    expect(rest.events.map((e) => e.event)).toContain('reset');
    const stored = await pollUntilFinished(t, user, room, reply.id);
    expect(stored.content).toBe('Final answer.');
    expect(heldText([...first.events, ...rest.events])).toBe(stored.content);
  });

  it('gives a late joiner the text so far as one delta, and a finished reply at once', async () => {
    gemini.enqueue({ kind: 'reply', chunks: ['one ', 'two ', 'three ', 'four'], hangAfter: 3 });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const reply = await sendAsync(user, room, 'count');
    await waitUntil(
      async () => (await t.container.stream.range(reply.id, '0-0')).filter((entry) => entry.event.type === 'delta').length === 3,
      'three deltas are in the reply stream',
    );
    const late = await follow(user, room, reply.id);
    await late.until((events) => events.length >= 1, 'the catch-up');
    expect(late.events[0]).toMatchObject({ event: 'delta', data: { text: 'one two three ' } });
    await stop(user, room, reply.id);
    await late.finished;
    expect(late.events.at(-1)).toMatchObject({ event: 'done', data: { content: 'one two three ' } });

    const again = await follow(user, room, reply.id);
    await again.finished;
    expect(again.events.map((e) => [e.event, e.data])).toEqual([
      ['delta', { text: 'one two three ' }],
      ['done', expect.objectContaining({ id: reply.id, finishReason: 'STOPPED' })],
    ]);
  });

  it('sends keep-alive comments while idle, and rejects an id it never sent', async () => {
    const held = gate();
    gemini.enqueue({ kind: 'reply', chunks: ['late'], gate: held.promise });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const reply = await sendAsync(user, room, 'wait for it');
    const listener = await follow(user, room, reply.id);
    await waitUntil(() => listener.keepAlives >= 2, 'two keep-alive comments');
    held.open();
    await listener.finished;
    expect(listener.events.at(-1)?.event).toBe('done');

    const bad = await t.request({
      method: 'GET',
      url: `/chatroom/${room}/messages/${reply.id}/stream`,
      headers: { ...bearer(user.accessToken), 'last-event-id': 'not-an-id' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('VALIDATION_FAILED');
  });
});

describe('with no worker running', () => {
  let idle: TestApp;
  beforeAll(async () => {
    idle = await startTestApp({ worker: false });
  });
  afterAll(async () => {
    await idle.close();
  });

  it('ends the stream of a reply whose chatroom is deleted before its job ran', async () => {
    const address = await idle.app.listen({ port: 0, host: '127.0.0.1' });
    const user = await signIn(idle);
    const room = await createRoom(idle, user);
    const sent = await sendMessage(idle, user, room, 'nobody will answer', { wait: false });
    const replyId = sent.json<Exchange>().reply.id;
    const listener = await openSse(`${address}/chatroom/${room}/messages/${replyId}/stream`, bearer(user.accessToken));
    expect(listener.status).toBe(200);
    const deleted = await idle.request({ method: 'DELETE', url: `/chatroom/${room}`, headers: bearer(user.accessToken) });
    expect(deleted.statusCode).toBe(204);
    await listener.finished;
    expect(isEnd(listener.events)).toBe(true);
    // Gone (the usual case), or stopped if the stream looked just between the stop and the delete.
    const last = listener.events.at(-1);
    if (last?.event === 'done') expect(last.data).toMatchObject({ finishReason: 'STOPPED' });
    else expect(last).toMatchObject({ event: 'error', data: { code: 'MESSAGE_NOT_FOUND' } });
  });

  it('stops a reply nobody is generating yet (pending) and gives its prompt back', async () => {
    const user = await signIn(idle);
    const room = await createRoom(idle, user);
    const sent = await sendMessage(idle, user, room, 'never started', { wait: false });
    expect(remainingOf(sent.headers)).toBe(4);
    const replyId = sent.json<Exchange>().reply.id;
    const res = await idle.request({ method: 'POST', url: `/chatroom/${room}/messages/${replyId}/stop`, headers: bearer(user.accessToken) });
    expect(res.json<Message>()).toMatchObject({ status: 'done', finishReason: 'STOPPED', content: '' });
    const usage = await idle.request({ method: 'GET', url: '/subscription/status', headers: bearer(user.accessToken) });
    expect(usage.json().usage).toMatchObject({ used: 0, remaining: 5 });
  });
});
