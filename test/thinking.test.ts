import { describe, expect, it } from 'vitest';
import { withGeminiApp } from './helpers/gemini-app.js';
import { bearer, signIn, type SignedInUser } from './helpers/factories.js';
import { parseSse, pollUntilFinished, sendMessage, type Message } from './helpers/messages.js';
import { isEnd, openSse } from './helpers/sse-client.js';
import { gate } from './helpers/wait.js';

const app = withGeminiApp(
  { GEMINI_TIMEOUT_MS: '5000', GEMINI_MODEL: 'gemini-2.5-flash', GEMINI_MODELS: 'gemini-2.5-pro, gemini-2.5-flash-lite, gemini-2.0-flash', REPLY_WAIT_MS: '10000', SSE_KEEPALIVE_MS: '200' },
  { listen: true },
);

type Thinking = { budget: number | null; includeThoughts: boolean } | null;
type Room = { id: string; settings: { model: string | null; thinking: Thinking } };
type Problem = { code: string; errors?: { path: string }[]; detail: string };
type Reply = Message & { thoughts: string | null };

const json = (user: SignedInUser, method: 'POST' | 'PATCH', url: string, body: unknown) =>
  app.t.request({ method, url, headers: { ...bearer(user.accessToken), 'content-type': 'application/json' }, payload: JSON.stringify(body) });

async function thinkingRoom(user: SignedInUser, thinking: Thinking, model?: string): Promise<Room> {
  const res = await json(user, 'POST', '/chatroom', { settings: { thinking, ...(model ? { model } : {}) } });
  expect(res.statusCode).toBe(201);
  return res.json<Room>();
}

const expectBudgetRefused = (res: { statusCode: number; json: <T>() => T }) => {
  expect(res.statusCode).toBe(400);
  const problem = res.json<Problem>();
  expect(problem.code).toBe('VALIDATION_FAILED');
  expect(problem.errors?.map((e) => e.path)).toContain('settings.thinking.budget');
};

describe('the thinking setting', () => {
  it('is stored on the chatroom, returned in its settings and sent to Gemini as thinkingConfig', async () => {
    const user = await signIn(app.t);
    const room = await thinkingRoom(user, { budget: 1024, includeThoughts: true });
    expect(room.settings.thinking).toEqual({ budget: 1024, includeThoughts: true });

    expect((await sendMessage(app.t, user, room.id, 'Think about it')).statusCode).toBe(201);
    expect(app.gemini.requests[0]?.body.generationConfig?.thinkingConfig).toEqual({ thinkingBudget: 1024, includeThoughts: true });
  });

  it('sends no thinkingConfig when unset, and none again once reset to null', async () => {
    const user = await signIn(app.t);
    const room = await thinkingRoom(user, { budget: -1, includeThoughts: false });
    const cleared = await json(user, 'PATCH', `/chatroom/${room.id}`, { settings: { thinking: null } });
    expect(cleared.statusCode).toBe(200);
    expect(cleared.json<Room>().settings.thinking).toBeNull();

    expect((await sendMessage(app.t, user, room.id, 'Hello')).statusCode).toBe(201);
    expect(app.gemini.requests[0]?.body.generationConfig).not.toHaveProperty('thinkingConfig');
  });

  it('refuses a budget beyond what the model takes, naming the field', async () => {
    const user = await signIn(app.t);
    expectBudgetRefused(await json(user, 'POST', '/chatroom', { settings: { thinking: { budget: 99999, includeThoughts: false } } }));
    // Within the widest range, but beyond Flash's 24576.
    expectBudgetRefused(await json(user, 'POST', '/chatroom', { settings: { thinking: { budget: 30000, includeThoughts: false } } }));
    // Flash-Lite thinks 512 tokens at least.
    expectBudgetRefused(await json(user, 'POST', '/chatroom', { settings: { model: 'gemini-2.5-flash-lite', thinking: { budget: 100 } } }));
  });

  it('refuses budget 0 for gemini-2.5-pro, which cannot stop thinking, whichever of the two changes', async () => {
    const user = await signIn(app.t);
    expectBudgetRefused(await json(user, 'POST', '/chatroom', { settings: { model: 'gemini-2.5-pro', thinking: { budget: 0, includeThoughts: false } } }));

    const off = await thinkingRoom(user, { budget: 0, includeThoughts: false });
    expectBudgetRefused(await json(user, 'PATCH', `/chatroom/${off.id}`, { settings: { model: 'gemini-2.5-pro' } }));
    const pro = await thinkingRoom(user, null, 'gemini-2.5-pro');
    expectBudgetRefused(await json(user, 'PATCH', `/chatroom/${pro.id}`, { settings: { thinking: { budget: 0, includeThoughts: false } } }));
    // Pro accepts its own range, and the model's choice.
    const ok = await json(user, 'PATCH', `/chatroom/${pro.id}`, { settings: { thinking: { budget: 32768, includeThoughts: true } } });
    expect(ok.statusCode).toBe(200);
    expect((await json(user, 'PATCH', `/chatroom/${pro.id}`, { settings: { thinking: { budget: -1 } } })).json<Room>().settings.thinking).toEqual({
      budget: -1,
      includeThoughts: false,
    });
  });

  it('refuses thinking settings for a model that does not think, whichever of the two changes, and takes them back off', async () => {
    const user = await signIn(app.t);
    const refusedOn = (res: { statusCode: number; json: <T>() => T }) => {
      expect(res.statusCode).toBe(400);
      expect(res.json<Problem>().errors?.map((e) => e.path)).toContain('settings.thinking');
      expect(res.json<Problem>().detail).toContain('gemini-2.0-flash does not think');
    };
    refusedOn(await json(user, 'POST', '/chatroom', { settings: { model: 'gemini-2.0-flash', thinking: { budget: null, includeThoughts: true } } }));
    const thinking = await thinkingRoom(user, { budget: -1, includeThoughts: true });
    refusedOn(await json(user, 'PATCH', `/chatroom/${thinking.id}`, { settings: { model: 'gemini-2.0-flash' } }));
    // Both at once: the model, and thinking back to its default.
    const moved = await json(user, 'PATCH', `/chatroom/${thinking.id}`, { settings: { model: 'gemini-2.0-flash', thinking: null } });
    expect(moved.statusCode).toBe(200);
    expect(moved.json<Room>().settings).toMatchObject({ model: 'gemini-2.0-flash', thinking: null });
  });

  it('refuses includeThoughts that is not a boolean', async () => {
    const user = await signIn(app.t);
    const res = await json(user, 'POST', '/chatroom', { settings: { thinking: { budget: 1024, includeThoughts: 'yes' } } });
    expect(res.statusCode).toBe(400);
    expect(res.json<Problem>().errors?.map((e) => e.path)).toContain('settings.thinking.includeThoughts');
  });
});

describe('thoughts of a reply', () => {
  it('are stored apart from the answer, streamed as thought events before the deltas, and never sent back as context', async () => {
    app.gemini.enqueue({ kind: 'reply', thoughts: ['Weighing the options.', ' Paris it is.'], chunks: ['The capital', ' is Paris.'] }, { kind: 'reply', chunks: ['Yes.'] });
    const user = await signIn(app.t);
    const room = await thinkingRoom(user, { budget: 1024, includeThoughts: true });

    const res = await sendMessage(app.t, user, room.id, 'Capital of France?', { headers: { accept: 'text/event-stream' } });
    expect(res.statusCode).toBe(200);
    const events = parseSse(res.body).filter((e) => e.event !== 'message');
    const kinds = events.map((e) => e.event);
    expect(kinds.indexOf('thought')).toBeGreaterThanOrEqual(0);
    expect(kinds.indexOf('thought')).toBeLessThan(kinds.indexOf('delta'));
    const thoughtText = events.filter((e) => e.event === 'thought').map((e) => (e.data as { text: string }).text).join('');
    const answerText = events.filter((e) => e.event === 'delta').map((e) => (e.data as { text: string }).text).join('');
    expect(thoughtText).toBe('Weighing the options. Paris it is.');
    expect(answerText).toBe('The capital is Paris.');
    const done = events.find((e) => e.event === 'done')?.data as Reply;
    expect(done).toMatchObject({ content: 'The capital is Paris.', thoughts: 'Weighing the options. Paris it is.' });

    const stored = (await pollUntilFinished(app.t, user, room.id, done.id)) as Reply;
    expect(stored).toMatchObject({ content: 'The capital is Paris.', thoughts: 'Weighing the options. Paris it is.' });

    expect((await sendMessage(app.t, user, room.id, 'Sure?')).statusCode).toBe(201);
    const next = JSON.stringify(app.gemini.requests[1]?.body.contents);
    expect(next).toContain('The capital is Paris.');
    expect(next).not.toContain('Weighing');
  });

  it('are null for a reply without thoughts', async () => {
    const user = await signIn(app.t);
    const room = await thinkingRoom(user, null);
    const res = await sendMessage(app.t, user, room.id, 'Hi');
    expect(res.statusCode).toBe(201);
    expect(res.json<{ reply: Reply }>().reply.thoughts).toBeNull();
  });

  it('reach a client joining late as one thought event, then the text so far, then live deltas', async () => {
    const held = gate();
    app.gemini.enqueue({ kind: 'reply', thoughts: ['First,', ' second.'], chunks: ['A', 'B'], holdAfter: { chunks: 1, until: held.promise } });
    const user = await signIn(app.t);
    const room = await thinkingRoom(user, { budget: -1, includeThoughts: true });
    const sent = await sendMessage(app.t, user, room.id, 'Go', { wait: false });
    expect(sent.statusCode).toBe(202);
    const reply = sent.json<{ reply: Reply }>().reply;
    // A first follower sees the first answer chunk: by then the thoughts and it are in the reply's stream.
    const early = await openSse(`${app.base}/chatroom/${room.id}/messages/${reply.id}/stream`, bearer(user.accessToken));
    await early.until((events) => events.some((e) => e.event === 'delta'), 'the first answer chunk');
    early.disconnect();

    const late = await openSse(`${app.base}/chatroom/${room.id}/messages/${reply.id}/stream`, bearer(user.accessToken));
    await late.until((events) => events.some((e) => e.event === 'delta'), 'the text so far');
    held.open();
    await late.until(isEnd, 'the end');
    const kinds = late.events.map((e) => e.event);
    expect(kinds.filter((k) => k === 'thought')).toHaveLength(1);
    expect(late.events[kinds.indexOf('thought')]?.data).toEqual({ text: 'First, second.' });
    expect(late.events[kinds.indexOf('thought')]?.id).toBeDefined();
    expect(kinds.indexOf('thought')).toBeLessThan(kinds.indexOf('delta'));
    expect(late.events.at(-1)).toMatchObject({ event: 'done', data: { content: 'AB', thoughts: 'First, second.' } });
  });
});
