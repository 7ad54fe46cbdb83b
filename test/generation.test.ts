import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { jobOf } from './helpers/generation.js';
import { bearer, signIn } from './helpers/factories.js';
import { createRoom, parseSse, pollUntilFinished, remainingOf, sendMessage, type Message } from './helpers/messages.js';
import { heldText, openSse } from './helpers/sse-client.js';
import { gate, waitUntil } from './helpers/wait.js';
import { startFakeGemini, type FakeGemini } from './fakes/gemini-server.js';

let gemini: FakeGemini;
let t: TestApp;

beforeAll(async () => {
  gemini = await startFakeGemini();
  t = await startTestApp({
    env: { GEMINI_API_KEY: 'test-key', GEMINI_BASE_URL: gemini.url, GEMINI_MODEL: 'gemini-test', GENERATION_MAX_ATTEMPTS: '3', REPLY_WAIT_MS: '10000' },
  });
});
afterAll(async () => {
  await t.close();
  await gemini.close();
});
beforeEach(() => gemini.reset());

type Exchange = { userMessage: Message; reply: Message };

describe('sending a message and waiting for the reply', () => {
  it('answers 201 with the stored prompt and the full reply from Gemini', async () => {
    gemini.enqueue({ kind: 'reply', chunks: ['Namaste', ', how can', ' I help?'], usage: { promptTokenCount: 7, candidatesTokenCount: 5 } });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const res = await sendMessage(t, user, room, '  Hello Gemini  ');
    expect(res.statusCode).toBe(201);
    const { userMessage, reply } = res.json<Exchange>();
    expect(userMessage).toMatchObject({ role: 'user', content: 'Hello Gemini', status: 'done', chatroomId: room });
    expect(reply).toMatchObject({
      role: 'model',
      content: 'Namaste, how can I help?',
      status: 'done',
      finishReason: 'STOP',
      error: null,
      usage: { promptTokens: 7, outputTokens: 5 },
    });
    expect(reply.completedAt).not.toBeNull();
    expect(res.headers['ratelimit-policy']).toBe('"daily";q=5;w=86400');
    expect(remainingOf(res.headers)).toBe(4);
    expect(gemini.requests).toHaveLength(1);
    expect(gemini.requests[0]).toMatchObject({ model: 'gemini-test', method: 'streamGenerateContent', apiKey: 'test-key' });
  });

  it('stores the five usage figures Gemini reports, sums them over the chatroom, and counts them in the metrics by model and kind', async () => {
    const usage = { promptTokenCount: 40, candidatesTokenCount: 12, thoughtsTokenCount: 30, cachedContentTokenCount: 16, totalTokenCount: 82 };
    gemini.enqueue({ kind: 'reply', chunks: ['One.'], usage }, { kind: 'reply', chunks: ['Two.'], usage });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const first = await sendMessage(t, user, room, 'first');
    expect(first.json<Exchange>().reply.usage).toEqual({ promptTokens: 40, outputTokens: 12, thoughtsTokens: 30, cachedTokens: 16, totalTokens: 82 });
    expect((await sendMessage(t, user, room, 'second')).statusCode).toBe(201);
    const conversation = (await t.request({ method: 'GET', url: `/chatroom/${room}`, headers: bearer(user.accessToken) })).json<{ tokenTotals: unknown }>();
    expect(conversation.tokenTotals).toEqual({ promptTokens: 80, outputTokens: 24, thoughtsTokens: 60, cachedTokens: 32, totalTokens: 164 });
    const counted = await t.container.metrics.registry.getSingleMetric('gemini_tokens_total')?.get();
    const valueOf = (kind: string) => counted?.values.find((sample) => sample.labels.model === 'gemini-test' && sample.labels.kind === kind)?.value ?? 0;
    // Only these two replies report thoughts and cached tokens; other tests of this app add prompt and output tokens too.
    expect([valueOf('thoughts'), valueOf('cached')]).toEqual([60, 32]);
    expect(valueOf('prompt')).toBeGreaterThanOrEqual(80);
    expect(valueOf('output')).toBeGreaterThanOrEqual(24);
  });

  it('sends the earlier turns as context, oldest first, with the right roles', async () => {
    gemini.enqueue({ kind: 'reply', chunks: ['First answer'] }, { kind: 'reply', chunks: ['Second answer'] }, { kind: 'reply', chunks: ['Third'] });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    for (const prompt of ['one', 'two', 'three']) expect((await sendMessage(t, user, room, prompt)).statusCode).toBe(201);
    const contents = gemini.requests[2]?.body.contents?.map((c) => [c.role, c.parts?.map((p) => p.text).join('')]);
    expect(contents).toEqual([
      ['user', 'one'],
      ['model', 'First answer'],
      ['user', 'two'],
      ['model', 'Second answer'],
      ['user', 'three'],
    ]);
  });

  it('shows the conversation in GET /chatroom/:id (oldest first) and pages GET /messages backwards', async () => {
    const user = await signIn(t);
    const room = await createRoom(t, user);
    for (const prompt of ['a', 'b']) await sendMessage(t, user, room, prompt);
    const detail = (await t.request({ method: 'GET', url: `/chatroom/${room}`, headers: bearer(user.accessToken) })).json();
    expect(detail.messages.map((m: Message) => [m.role, m.status])).toEqual([
      ['user', 'done'],
      ['model', 'done'],
      ['user', 'done'],
      ['model', 'done'],
    ]);
    expect(detail.messages[2].content).toBe('b');
    expect(detail.hasMoreMessages).toBe(false);

    const seen: Message[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=3&cursor=${cursor}` : '?limit=3';
      const page = (await t.request({ method: 'GET', url: `/chatroom/${room}/messages${query}`, headers: bearer(user.accessToken) })).json();
      seen.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.map((m) => m.id)).toEqual([...detail.messages].reverse().map((m: Message) => m.id));
  });

  it('retries a 429 from Gemini and ends done', async () => {
    gemini.enqueue({ kind: 'error', status: 429, message: 'Resource exhausted' }, { kind: 'reply', chunks: ['after the retry'] });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const res = await sendMessage(t, user, room, 'please');
    expect(res.statusCode).toBe(201);
    expect(res.json<Exchange>().reply).toMatchObject({ status: 'done', content: 'after the retry' });
    expect(gemini.requests).toHaveLength(2);
    expect(remainingOf(res.headers)).toBe(4);
  });

  it('answers 502 MODEL_FAILED when Gemini fails for good, and gives the prompt back', async () => {
    gemini.setDefault({ kind: 'error', status: 500, message: 'Internal error' });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const res = await sendMessage(t, user, room, 'doomed');
    expect(res.statusCode).toBe(502);
    const problem = res.json();
    expect(problem).toMatchObject({ code: 'MODEL_FAILED', status: 502, error: { code: 'MODEL_UNAVAILABLE' } });
    expect(remainingOf(res.headers)).toBe(5); // refunded
    expect(gemini.requests).toHaveLength(3); // GENERATION_MAX_ATTEMPTS

    const reply = await pollUntilFinished(t, user, room, problem.replyId);
    expect(reply).toMatchObject({ status: 'failed', content: '', error: { code: 'MODEL_UNAVAILABLE' } });
    expect(reply.error?.message).not.toContain('Internal error'); // Gemini's raw error stays in the log
  });

  it('fails a blocked prompt at once (no retry), as PROMPT_BLOCKED, and gives the prompt back', async () => {
    gemini.enqueue({ kind: 'blocked', blockReason: 'SAFETY' });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const res = await sendMessage(t, user, room, 'something unsafe');
    expect(res.statusCode).toBe(502);
    expect(res.json().error.code).toBe('PROMPT_BLOCKED');
    expect(gemini.requests).toHaveLength(1);
    expect(remainingOf(res.headers)).toBe(5);
  });

  it('keeps a partial answer that Gemini stopped for safety, with finishReason SAFETY', async () => {
    gemini.enqueue({ kind: 'reply', chunks: ['The first part'], finishReason: 'SAFETY' });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const res = await sendMessage(t, user, room, 'tell me');
    expect(res.statusCode).toBe(201);
    expect(res.json<Exchange>().reply).toMatchObject({ status: 'done', content: 'The first part', finishReason: 'SAFETY' });
  });

  for (const finishReason of ['SAFETY', 'RECITATION']) {
    it(`fails an answer Gemini withheld (${finishReason}, no text) as RESPONSE_BLOCKED with the reason in finishReason, and gives the prompt back`, async () => {
      gemini.enqueue({ kind: 'reply', chunks: [], finishReason });
      const user = await signIn(t);
      const room = await createRoom(t, user);
      const res = await sendMessage(t, user, room, 'tell me');
      expect(res.statusCode).toBe(502);
      expect(res.json()).toMatchObject({ code: 'MODEL_FAILED', error: { code: 'RESPONSE_BLOCKED' } });
      expect(remainingOf(res.headers)).toBe(5);
      expect(gemini.requests).toHaveLength(1); // a block is not retried
      const reply = await pollUntilFinished(t, user, room, res.json<{ replyId: string }>().replyId);
      expect(reply).toMatchObject({ status: 'failed', content: '', finishReason, error: { code: 'RESPONSE_BLOCKED' } });
    });
  }

  it('does not retry a 400 from Gemini', async () => {
    gemini.enqueue({ kind: 'error', status: 400, message: 'Invalid argument' });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const res = await sendMessage(t, user, room, 'x');
    expect(res.statusCode).toBe(502);
    expect(res.json().error.code).toBe('MODEL_REJECTED');
    expect(gemini.requests).toHaveLength(1);
  });

  it('rejects blank or over-long content and stores nothing', async () => {
    const user = await signIn(t);
    const room = await createRoom(t, user);
    for (const content of ['   ', 'x'.repeat(8001), 'nul \u0000 inside']) {
      const res = await sendMessage(t, user, room, content);
      expect(res.statusCode).toBe(400);
      expect(res.json().errors[0].path).toBe('content');
      expect(remainingOf(res.headers)).toBe(5);
    }
    const list = (await t.request({ method: 'GET', url: `/chatroom/${room}/messages`, headers: bearer(user.accessToken) })).json();
    expect(list.items).toEqual([]);
  });
});

describe('streaming (SSE)', () => {
  it('sends message, the deltas, then done; the deltas add up to the stored reply', async () => {
    gemini.enqueue({ kind: 'reply', chunks: ['Stream', 'ing ', 'works', '.'] });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const res = await sendMessage(t, user, room, 'stream please', { headers: { accept: 'text/event-stream' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/event-stream');
    expect(remainingOf(res.headers)).toBe(4);
    const events = parseSse(res.body);
    expect(events.map((e) => e.event)).toEqual(['message', 'delta', 'delta', 'delta', 'delta', 'done']);
    const first = events[0]?.data as Exchange;
    expect(first.reply.status).toBe('pending');
    const text = events.filter((e) => e.event === 'delta').map((e) => (e.data as { text: string }).text).join('');
    const done = events.at(-1)?.data as Message;
    expect(text).toBe('Streaming works.');
    expect(done).toMatchObject({ id: first.reply.id, status: 'done', content: text });
    const stored = await pollUntilFinished(t, user, room, first.reply.id);
    expect(stored.content).toBe(text);
  });

  it('ends with an error event when the model fails for good', async () => {
    gemini.setDefault({ kind: 'error', status: 503 });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const res = await sendMessage(t, user, room, 'x', { headers: { accept: 'text/event-stream' } });
    const events = parseSse(res.body);
    // Retries streamed no text, so there is nothing for the client to reset.
    expect(events.map((e) => e.event)).toEqual(['message', 'error']);
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { code: 'MODEL_UNAVAILABLE' } });
  });

  it('gives a late client the text so far, then the rest, on GET …/messages/:id', async () => {
    const model = gate();
    gemini.enqueue({ kind: 'reply', chunks: ['one ', 'two ', 'three ', 'four'], holdAfter: { chunks: 2, until: model.promise } });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const sent = await sendMessage(t, user, room, 'count', { wait: false });
    expect(sent.statusCode).toBe(202);
    const replyId = sent.json<Exchange>().reply.id;
    // The model has sent half of the reply and holds the rest: the client joins in the middle of it.
    await waitUntil(() => gemini.requests[0]?.chunksSent === 2, 'the model sent two of its four chunks');
    const base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const late = await openSse(`${base}/chatroom/${room}/messages/${replyId}`, bearer(user.accessToken));
    expect(late.status).toBe(200);
    await late.until((events) => heldText(events) === 'one two ', 'the text so far');
    expect(late.events[0]).toMatchObject({ event: 'message', data: { id: replyId, status: 'streaming' } });
    expect(late.events.some((e) => e.event === 'done')).toBe(false);
    const deltasBeforeTheRest = late.events.filter((e) => e.event === 'delta').length;
    model.open();
    await late.finished;
    expect(late.events.at(-1)?.event).toBe('done');
    expect(heldText(late.events)).toBe('one two three four');
    // The rest came as it was generated, after the text so far.
    expect(late.events.filter((e) => e.event === 'delta').length).toBeGreaterThan(deltasBeforeTheRest);
  });
});

describe('wait=false and polling', () => {
  it('answers 202 at once with a Location to poll until done', async () => {
    gemini.enqueue({ kind: 'reply', chunks: ['polled ', 'reply'], chunkDelayMs: 50 });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const res = await sendMessage(t, user, room, 'poll me', { wait: false });
    expect(res.statusCode).toBe(202);
    const { reply } = res.json<Exchange>();
    expect(reply.status).toBe('pending');
    expect(res.headers.location).toBe(`/chatroom/${room}/messages/${reply.id}`);
    const final = await pollUntilFinished(t, user, room, reply.id);
    expect(final).toMatchObject({ status: 'done', content: 'polled reply' });
  });
});

describe('idempotency', () => {
  it('returns the first outcome for a repeated Idempotency-Key: one prompt spent, one Gemini call', async () => {
    gemini.enqueue({ kind: 'reply', chunks: ['only once'] });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const headers = { 'idempotency-key': 'retry-me-123' };
    const first = await sendMessage(t, user, room, 'hello', { headers });
    const second = await sendMessage(t, user, room, 'hello', { headers });
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(second.json<Exchange>().userMessage.id).toBe(first.json<Exchange>().userMessage.id);
    expect(second.json<Exchange>().reply).toMatchObject({ id: first.json<Exchange>().reply.id, content: 'only once' });
    expect(remainingOf(second.headers)).toBe(4);
    expect(gemini.requests).toHaveLength(1);

    const reused = await sendMessage(t, user, room, 'a different prompt', { headers });
    expect(reused.statusCode).toBe(422);
    expect(reused.json().code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('is per user: another user may use the same key', async () => {
    const [alice, bob] = [await signIn(t), await signIn(t)];
    const headers = { 'idempotency-key': 'shared-key' };
    const a = await sendMessage(t, alice, await createRoom(t, alice), 'hi', { headers });
    const b = await sendMessage(t, bob, await createRoom(t, bob), 'hi', { headers });
    expect([a.statusCode, b.statusCode]).toEqual([201, 201]);
    expect(a.json<Exchange>().reply.id).not.toBe(b.json<Exchange>().reply.id);
  });
});

describe('daily allowance', () => {
  it('accepts exactly 5 of 50 parallel sends from one Basic user; the rest are 429 and store nothing', async () => {
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => sendMessage(t, user, room, `burst ${i}`, { wait: false })));
    const accepted = results.filter((r) => r.statusCode === 202);
    const refused = results.filter((r) => r.statusCode === 429);
    expect(accepted).toHaveLength(5);
    expect(refused).toHaveLength(45);
    const problem = refused[0]?.json();
    expect(problem).toMatchObject({ code: 'QUOTA_EXCEEDED', status: 429 });
    expect(problem.detail).toMatch(/^Basic plan allows 5 prompts a day; resets at \d{4}-\d\d-\d\dT00:00:00\.000Z$/);
    expect(Number(refused[0]?.headers['retry-after'])).toBeGreaterThan(0);
    expect(remainingOf(refused[0]?.headers ?? {})).toBe(0);

    for (const r of accepted) await pollUntilFinished(t, user, room, r.json<Exchange>().reply.id);
    const list = (await t.request({ method: 'GET', url: `/chatroom/${room}/messages?limit=100`, headers: bearer(user.accessToken) })).json();
    expect(list.items).toHaveLength(10);
  });

  it('resets at 00:00 UTC', async () => {
    const user = await signIn(t);
    const room = await createRoom(t, user);
    for (let i = 0; i < 5; i++) await sendMessage(t, user, room, `p${i}`, { wait: false });
    expect((await sendMessage(t, user, room, 'one too many', { wait: false })).statusCode).toBe(429);
    const now = t.clock.now();
    const untilMidnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1) - now.getTime();
    t.clock.advance(untilMidnight);
    try {
      // A new day may outlive the access token: refresh it, as a client would.
      const refreshed = await t.request({ method: 'POST', url: '/auth/refresh', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ refreshToken: user.refreshToken }) });
      const next = await sendMessage(t, { ...user, accessToken: refreshed.json().accessToken }, room, 'a new day', { wait: false });
      expect(next.statusCode).toBe(202);
      expect(remainingOf(next.headers)).toBe(4);
    } finally {
      t.clock.advance(-untilMidnight);
    }
  });
});

describe('ownership', () => {
  it("answers 404 on every message route for another user's chatroom, and spends nothing", async () => {
    const [alice, bob] = [await signIn(t), await signIn(t)];
    const room = await createRoom(t, alice);
    const sent = await sendMessage(t, alice, room, 'private');
    const replyId = sent.json<Exchange>().reply.id;

    const post = await sendMessage(t, bob, room, 'intrude');
    expect(post.statusCode).toBe(404);
    expect(post.json().code).toBe('CHATROOM_NOT_FOUND');
    expect(remainingOf(post.headers)).toBe(5);
    for (const url of [`/chatroom/${room}/messages`, `/chatroom/${room}/messages/${replyId}`]) {
      const res = await t.request({ method: 'GET', url, headers: bearer(bob.accessToken) });
      expect(res.statusCode, url).toBe(404);
      expect(res.json().code).toBe('CHATROOM_NOT_FOUND');
    }
    // Bob's own room does not open Alice's messages either.
    const bobsRoom = await createRoom(t, bob);
    const crossed = await t.request({ method: 'GET', url: `/chatroom/${bobsRoom}/messages/${replyId}`, headers: bearer(bob.accessToken) });
    expect(crossed.statusCode).toBe(404);
    expect(crossed.json().code).toBe('MESSAGE_NOT_FOUND');
  });

  it('answers 404 for a malformed chatroom or message id', async () => {
    const user = await signIn(t);
    const room = await createRoom(t, user);
    expect((await sendMessage(t, user, 'nope', 'x')).json().code).toBe('CHATROOM_NOT_FOUND');
    const res = await t.request({ method: 'GET', url: `/chatroom/${room}/messages/nope`, headers: bearer(user.accessToken) });
    expect(res.json().code).toBe('MESSAGE_NOT_FOUND');
  });
});

describe('the worker', () => {
  it('does nothing when a finished reply is run again', async () => {
    gemini.enqueue({ kind: 'reply', chunks: ['final words'] });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const { reply } = (await sendMessage(t, user, room, 'once')).json<Exchange>();
    const job = jobOf(t);
    await job(reply.id, { attempt: 1, signal: new AbortController().signal });
    expect(gemini.requests).toHaveLength(1);
    const stored = await pollUntilFinished(t, user, room, reply.id);
    expect(stored).toMatchObject({ content: 'final words', completedAt: reply.completedAt });
  });
});
