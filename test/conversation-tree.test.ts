import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tidyTitle } from '../src/integrations/gemini/model.js';
import { startFakeGemini, type FakeGemini, type RecordedGeminiRequest } from './fakes/gemini-server.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { databaseBefore } from './helpers/database-before.js';
import { bearer, json, makeMobile, sendOtp, signIn, type SignedInUser } from './helpers/factories.js';
import { createRoom, parseSse, pollUntilFinished, remainingOf, type Message } from './helpers/messages.js';
import { gate, waitUntil } from './helpers/wait.js';

type TreeMessage = Message & { parentId: string | null; siblingIds: string[] };
type Exchange = { userMessage: TreeMessage; reply: TreeMessage };
type Settings = { systemInstruction: string | null; model: string | null; temperature: number | null };
type Conversation = {
  id: string;
  title: string;
  settings: Settings;
  currentMessageId: string | null;
  messages: TreeMessage[];
  hasMoreMessages: boolean;
  tokenTotals: { promptTokens: number; outputTokens: number };
};

let gemini: FakeGemini;
let t: TestApp;

beforeAll(async () => {
  gemini = await startFakeGemini();
  t = await startTestApp({
    captureLogs: true,
    env: {
      LOG_LEVEL: 'info',
      GEMINI_API_KEY: 'test-key',
      GEMINI_BASE_URL: gemini.url,
      GEMINI_TIMEOUT_MS: '5000',
      GEMINI_MODELS: 'gemini-2.5-flash, gemini-2.5-pro',
      REPLY_WAIT_MS: '10000',
      AUTO_TITLE: 'true',
    },
  });
});
afterAll(async () => {
  await t.close();
  await gemini.close();
});
beforeEach(() => gemini.reset());

const authJson = (user: SignedInUser, body: unknown) => ({
  headers: { ...bearer(user.accessToken), 'content-type': 'application/json' },
  payload: JSON.stringify(body),
});

// Rooms with a title of their own get no title job, so the model calls of a test are only its replies.
async function titledRoom(user: SignedInUser, body: Record<string, unknown> = {}): Promise<string> {
  const res = await t.request({ method: 'POST', url: '/chatroom', ...authJson(user, { title: 'Named', ...body }) });
  expect(res.statusCode).toBe(201);
  return res.json<{ id: string }>().id;
}

function send(user: SignedInUser, room: string, content: string, extra: { parentId?: string | null; query?: string; headers?: Record<string, string> } = {}) {
  const body = extra.parentId === undefined ? { content } : { content, parentId: extra.parentId };
  return t.request({
    method: 'POST',
    url: `/chatroom/${room}/message${extra.query ?? ''}`,
    headers: { ...bearer(user.accessToken), 'content-type': 'application/json', ...extra.headers },
    payload: JSON.stringify(body),
  });
}

async function sent(user: SignedInUser, room: string, content: string, parentId?: string | null): Promise<Exchange> {
  const res = await send(user, room, content, { parentId });
  expect(res.statusCode).toBe(201);
  return res.json<Exchange>();
}

const regenerate = (user: SignedInUser, room: string, replyId: string, extra: { query?: string; headers?: Record<string, string> } = {}) =>
  t.request({ method: 'POST', url: `/chatroom/${room}/messages/${replyId}/regenerate${extra.query ?? ''}`, headers: { ...bearer(user.accessToken), ...extra.headers } });

const switchTo = (user: SignedInUser, room: string, messageId: string) =>
  t.request({ method: 'PUT', url: `/chatroom/${room}/current-message`, ...authJson(user, { messageId }) });

async function conversationOf(user: SignedInUser, room: string): Promise<Conversation> {
  const res = await t.request({ method: 'GET', url: `/chatroom/${room}`, headers: bearer(user.accessToken) });
  expect(res.statusCode).toBe(200);
  return res.json<Conversation>();
}

const usedToday = async (user: SignedInUser) =>
  (await t.request({ method: 'GET', url: '/subscription/status', headers: bearer(user.accessToken) })).json<{ usage: { used: number } }>().usage.used;

const replyCalls = () => gemini.requests.filter((request) => request.method === 'streamGenerateContent');
const titleCalls = () => gemini.requests.filter((request) => request.method === 'generateContent');
/** What the model was given, as "role:text" turns. */
const turnsOf = (request: RecordedGeminiRequest | undefined) =>
  request?.body.contents?.map((content) => `${content.role}:${content.parts?.map((part) => part.text).join('')}`);
const idsOf = (messages: { id: string }[]) => messages.map((message) => message.id);

describe('editing an earlier prompt', () => {
  it('opens a branch: the path shows the new prompt, it lists the old one as a sibling, and the model never sees the old one', async () => {
    gemini.enqueue({ kind: 'reply', chunks: ['A1'] }, { kind: 'reply', chunks: ['A2'] }, { kind: 'reply', chunks: ['A2 after the edit'] });
    const user = await signIn(t);
    const room = await titledRoom(user);
    const first = await sent(user, room, 'Q1');
    const second = await sent(user, room, 'Q2');
    expect(second.userMessage.parentId).toBe(first.reply.id);
    expect(second.reply.parentId).toBe(second.userMessage.id);

    const edited = await sent(user, room, 'Q2 edited', first.reply.id);
    expect(edited.reply.content).toBe('A2 after the edit');
    expect(edited.userMessage.parentId).toBe(first.reply.id);
    expect(edited.userMessage.siblingIds).toEqual([second.userMessage.id, edited.userMessage.id]);
    expect(turnsOf(replyCalls()[2])).toEqual(['user:Q1', 'model:A1', 'user:Q2 edited']);

    const conversation = await conversationOf(user, room);
    expect(idsOf(conversation.messages)).toEqual([first.userMessage.id, first.reply.id, edited.userMessage.id, edited.reply.id]);
    expect(conversation.currentMessageId).toBe(edited.reply.id);
    expect(conversation.messages[2]?.siblingIds).toEqual([second.userMessage.id, edited.userMessage.id]);
    expect(conversation.messages[0]?.siblingIds).toEqual([first.userMessage.id]);

    // The paged list walks the same path backwards, with the same cursors as ever.
    const page = (cursor?: string) =>
      t.request({ method: 'GET', url: `/chatroom/${room}/messages?limit=2${cursor ? `&cursor=${cursor}` : ''}`, headers: bearer(user.accessToken) });
    const newer = (await page()).json<{ items: TreeMessage[]; nextCursor: string | null }>();
    expect(idsOf(newer.items)).toEqual([edited.reply.id, edited.userMessage.id]);
    const older = (await page(newer.nextCursor ?? undefined)).json<{ items: TreeMessage[]; nextCursor: string | null }>();
    expect(idsOf(older.items)).toEqual([first.reply.id, first.userMessage.id]);
    expect(older.nextCursor).toBeNull();
  });

  it('starts over from a new first prompt with parentId null, with nothing earlier as context', async () => {
    const user = await signIn(t);
    const room = await titledRoom(user);
    const first = await sent(user, room, 'Tell me about cats');
    const fresh = await sent(user, room, 'Tell me about dogs', null);
    expect(fresh.userMessage.parentId).toBeNull();
    expect(fresh.userMessage.siblingIds).toEqual([first.userMessage.id, fresh.userMessage.id]);
    expect(turnsOf(replyCalls()[1])).toEqual(['user:Tell me about dogs']);
    expect(idsOf((await conversationOf(user, room)).messages)).toEqual([fresh.userMessage.id, fresh.reply.id]);
  });

  it('refuses a prompt as parent (400) and an unknown or foreign parent (404), spending nothing', async () => {
    const user = await signIn(t);
    const other = await signIn(t);
    const room = await titledRoom(user);
    const first = await sent(user, room, 'Q1');
    const foreign = await sent(other, await titledRoom(other), 'not yours');

    const asPrompt = await send(user, room, 'x', { parentId: first.userMessage.id });
    expect(asPrompt.statusCode).toBe(400);
    expect(asPrompt.json()).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'parentId' }] });
    for (const parentId of [randomUUID(), 'not-an-id', foreign.reply.id]) {
      const res = await send(user, room, 'x', { parentId });
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('MESSAGE_NOT_FOUND');
    }
    expect(await usedToday(user)).toBe(1);
    expect(idsOf((await conversationOf(user, room)).messages)).toEqual([first.userMessage.id, first.reply.id]);
  });

  it('keeps one generation at a time per chatroom across branches', async () => {
    const held = gate();
    gemini.enqueue({ kind: 'reply', chunks: ['slow'], gate: held.promise }, { kind: 'reply', chunks: ['other branch'] });
    const user = await signIn(t);
    const room = await titledRoom(user);
    const slow = (await send(user, room, 'first branch', { query: '?wait=false' })).json<Exchange>();
    const other = (await send(user, room, 'second branch', { parentId: null, query: '?wait=false' })).json<Exchange>();
    await waitUntil(() => gemini.requests.length === 1, 'the first reply reached the model');
    held.open();
    expect(await pollUntilFinished(t, user, room, other.reply.id)).toMatchObject({ status: 'done', content: 'other branch' });
    expect(await pollUntilFinished(t, user, room, slow.reply.id)).toMatchObject({ status: 'done', content: 'slow' });
    const firstEnded = gemini.happenings.findIndex((h) => h.request === 0 && h.what === 'ended');
    const secondArrived = gemini.happenings.findIndex((h) => h.request === 1 && h.what === 'received');
    expect(secondArrived).toBeGreaterThan(firstEnded);
    expect(turnsOf(gemini.requests[1])).toEqual(['user:second branch']);
  });
});

describe('regenerating a reply', () => {
  it('adds a sibling reply to the same prompt, spends a prompt, and makes it the current message', async () => {
    gemini.enqueue(
      { kind: 'reply', chunks: ['first try'], usage: { promptTokenCount: 10, candidatesTokenCount: 3 } },
      { kind: 'reply', chunks: ['second try'], usage: { promptTokenCount: 11, candidatesTokenCount: 4 } },
    );
    const user = await signIn(t);
    const room = await titledRoom(user);
    const sentRes = await send(user, room, 'Name a colour');
    const first = sentRes.json<Exchange>();

    const res = await regenerate(user, room, first.reply.id);
    expect(res.statusCode).toBe(201);
    const again = res.json<Exchange>();
    expect(again.userMessage.id).toBe(first.userMessage.id);
    expect(again.reply).toMatchObject({ status: 'done', content: 'second try', parentId: first.userMessage.id });
    expect(again.reply.siblingIds).toEqual([first.reply.id, again.reply.id]);
    expect(remainingOf(res.headers)).toBe(remainingOf(sentRes.headers) - 1);
    expect(res.headers['ratelimit-policy']).toBe('"daily";q=5;w=86400');
    // The model writes it from the prompt alone, not from the reply it replaces.
    expect(turnsOf(replyCalls()[1])).toEqual(['user:Name a colour']);

    const conversation = await conversationOf(user, room);
    expect(idsOf(conversation.messages)).toEqual([first.userMessage.id, again.reply.id]);
    expect(conversation.currentMessageId).toBe(again.reply.id);
    // Tokens count on every branch: both replies were paid for.
    expect(conversation.tokenTotals).toMatchObject({ promptTokens: 21, outputTokens: 7, totalTokens: 28 });
  });

  it('answers in every form of sending: 202 to poll, an event stream, and a replay for a repeated Idempotency-Key', async () => {
    const user = await signIn(t);
    const room = await titledRoom(user);
    const first = await sent(user, room, 'Hi');

    const queued = await regenerate(user, room, first.reply.id, { query: '?wait=false' });
    expect(queued.statusCode).toBe(202);
    const queuedReply = queued.json<Exchange>().reply;
    expect(queued.headers.location).toBe(`/chatroom/${room}/messages/${queuedReply.id}`);
    expect(await pollUntilFinished(t, user, room, queuedReply.id)).toMatchObject({ status: 'done' });

    const streamed = await regenerate(user, room, first.reply.id, { headers: { accept: 'text/event-stream' } });
    expect(streamed.statusCode).toBe(200);
    expect(streamed.headers.ratelimit).toBeDefined();
    const events = parseSse(streamed.body);
    expect(events.map((e) => e.event)).toEqual(['message', 'delta', 'delta', 'delta', 'done']);
    const done = events.at(-1)?.data as TreeMessage;
    expect(done.siblingIds).toEqual([first.reply.id, queuedReply.id, done.id]);

    const key = { 'idempotency-key': `regen-${randomUUID()}` };
    const once = await regenerate(user, room, first.reply.id, { headers: key });
    const twice = await regenerate(user, room, first.reply.id, { headers: key });
    expect(twice.statusCode).toBe(201);
    expect(twice.json<Exchange>().reply.id).toBe(once.json<Exchange>().reply.id);
    expect(await usedToday(user)).toBe(4);
  });

  it('refuses an unfinished reply (409 REPLY_IN_PROGRESS) and a prompt (400)', async () => {
    const held = gate();
    gemini.enqueue({ kind: 'reply', chunks: ['eventually'], gate: held.promise });
    const user = await signIn(t);
    const room = await titledRoom(user);
    const running = (await send(user, room, 'take your time', { query: '?wait=false' })).json<Exchange>();
    const res = await regenerate(user, room, running.reply.id);
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('REPLY_IN_PROGRESS');
    const prompt = await regenerate(user, room, running.userMessage.id);
    expect(prompt.statusCode).toBe(400);
    held.open();
    await pollUntilFinished(t, user, room, running.reply.id);
    expect(await usedToday(user)).toBe(1);
  });

  it('is 429 QUOTA_EXCEEDED over the allowance, storing nothing', async () => {
    const user = await signIn(t);
    const room = await titledRoom(user);
    const first = await sent(user, room, 'Q');
    let last = first.reply;
    for (let i = 0; i < 4; i++) {
      const res = await regenerate(user, room, first.reply.id);
      expect(res.statusCode).toBe(201);
      last = res.json<Exchange>().reply;
    }
    const over = await regenerate(user, room, first.reply.id);
    expect(over.statusCode).toBe(429);
    expect(over.json().code).toBe('QUOTA_EXCEEDED');
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect(remainingOf(over.headers)).toBe(0);
    const conversation = await conversationOf(user, room);
    expect(conversation.currentMessageId).toBe(last.id);
    expect(conversation.messages[1]?.siblingIds).toHaveLength(5);
  });
});

describe('switching branch', () => {
  it('shows the branch through a message, and a prompt sent then continues that branch', async () => {
    gemini.enqueue({ kind: 'reply', chunks: ['A1'] }, { kind: 'reply', chunks: ['A2'] }, { kind: 'reply', chunks: ["A2'"] }, { kind: 'reply', chunks: ['A3'] });
    const user = await signIn(t);
    const room = await titledRoom(user);
    const first = await sent(user, room, 'Q1');
    const second = await sent(user, room, 'Q2');
    const edited = await sent(user, room, "Q2'", first.reply.id);

    const res = await switchTo(user, room, second.userMessage.id);
    expect(res.statusCode).toBe(200);
    const switched = res.json<Conversation>();
    expect(switched.currentMessageId).toBe(second.reply.id);
    expect(idsOf(switched.messages)).toEqual([first.userMessage.id, first.reply.id, second.userMessage.id, second.reply.id]);

    const third = await sent(user, room, 'Q3');
    expect(third.userMessage.parentId).toBe(second.reply.id);
    expect(turnsOf(replyCalls()[3])).toEqual(['user:Q1', 'model:A1', 'user:Q2', 'model:A2', 'user:Q3']);

    // Through a message with several branches below: the newest message at their ends.
    expect((await switchTo(user, room, first.reply.id)).json<Conversation>().currentMessageId).toBe(third.reply.id);
    expect((await switchTo(user, room, edited.userMessage.id)).json<Conversation>().currentMessageId).toBe(edited.reply.id);
    const unknown = await switchTo(user, room, randomUUID());
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('MESSAGE_NOT_FOUND');
  });
});

describe('per-chatroom settings', () => {
  it('lists the models, and sends the chatroom’s system instruction, temperature and model to Gemini', async () => {
    const user = await signIn(t);
    const models = await t.request({ method: 'GET', url: '/models', headers: bearer(user.accessToken) });
    expect(models.json()).toEqual({ items: [{ id: 'gemini-2.5-flash', default: true }, { id: 'gemini-2.5-pro', default: false }] });

    const settings = { systemInstruction: 'Answer in French.', model: 'gemini-2.5-pro', temperature: 0.3 };
    const created = await t.request({ method: 'POST', url: '/chatroom', ...authJson(user, { title: 'Tuned', settings }) });
    expect(created.statusCode).toBe(201);
    expect(created.json().settings).toEqual({ ...settings, thinking: null, grounding: false });
    const room = created.json<{ id: string }>().id;
    await sent(user, room, 'Hello');
    const tuned = replyCalls()[0];
    expect(tuned?.model).toBe('gemini-2.5-pro');
    expect(tuned?.body.systemInstruction?.parts?.[0]?.text).toBe('Answer in French.');
    expect(tuned?.body.generationConfig?.temperature).toBe(0.3);

    // Any subset; null puts the server default back.
    const patched = await t.request({ method: 'PATCH', url: `/chatroom/${room}`, ...authJson(user, { settings: { model: null, temperature: 1.5 } }) });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ title: 'Tuned', settings: { systemInstruction: 'Answer in French.', model: null, temperature: 1.5 } });
    await sent(user, room, 'Again');
    const defaults = replyCalls()[1];
    expect(defaults?.model).toBe('gemini-2.5-flash');
    expect(defaults?.body.generationConfig?.temperature).toBe(1.5);
    expect(defaults?.body.systemInstruction?.parts?.[0]?.text).toBe('Answer in French.');
  });

  it('refuses invalid settings with 400 naming the field, changing nothing', async () => {
    const user = await signIn(t);
    const room = await titledRoom(user, { settings: { temperature: 0.5 } });
    const cases: [Record<string, unknown>, string][] = [
      [{ temperature: 2.5 }, 'settings.temperature'],
      [{ temperature: -0.1 }, 'settings.temperature'],
      [{ temperature: 'warm' }, 'settings.temperature'],
      [{ model: 'gpt-4o' }, 'settings.model'],
      [{ systemInstruction: 'x'.repeat(4001) }, 'settings.systemInstruction'],
    ];
    for (const [settings, path] of cases) {
      for (const [method, url] of [['POST', '/chatroom'], ['PATCH', `/chatroom/${room}`]] as const) {
        const res = await t.request({ method, url, ...authJson(user, { settings }) });
        expect(res.statusCode, `${method} ${JSON.stringify(settings)}`).toBe(400);
        expect(res.json().code).toBe('VALIDATION_FAILED');
        expect(res.json().errors.map((e: { path: string }) => e.path)).toContain(path);
      }
    }
    const unknown = await t.request({ method: 'PATCH', url: `/chatroom/${room}`, ...authJson(user, { settings: { topK: 3 } }) });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().detail).toContain('topK');
    const empty = await t.request({ method: 'PATCH', url: `/chatroom/${room}`, ...authJson(user, {}) });
    expect(empty.statusCode).toBe(400);

    expect((await conversationOf(user, room)).settings).toEqual({ systemInstruction: null, model: null, temperature: 0.5, thinking: null, grounding: false });
    const list = await t.request({ method: 'GET', url: '/chatroom', headers: bearer(user.accessToken) });
    expect(list.json().items).toHaveLength(1);
  });
});

describe('automatic titles', () => {
  it('titles a "New chat" after its first reply, off the allowance, and the list shows it', async () => {
    gemini.enqueue({ kind: 'reply', chunks: ['December is dry and warm there.'] }, { kind: 'reply', chunks: ['"Trip to Goa in December."'] });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const list = () => t.request({ method: 'GET', url: '/chatroom', headers: bearer(user.accessToken) });
    expect((await list()).json().items[0].title).toBe('New chat'); // now cached

    await sent(user, room, 'Is Goa nice in December?');
    await waitUntil(async () => (await conversationOf(user, room)).title !== 'New chat', 'the chatroom got a title');
    expect((await conversationOf(user, room)).title).toBe('Trip to Goa in December');
    expect((await list()).json().items[0].title).toBe('Trip to Goa in December');
    expect(turnsOf(titleCalls()[0])?.[0]).toContain('Is Goa nice in December?');
    expect(await usedToday(user)).toBe(1);
  });

  it('makes a proposal fit: one line of at most 60 characters, cut at a word', () => {
    const title = tidyTitle(`"${'A rather long title about travelling by night train '.repeat(3)}."\n`, 60);
    expect(title.length).toBeLessThanOrEqual(60);
    expect(title).toMatch(/^A rather long title about travelling by night train A…$/);
  });

  it('keeps the name of a chatroom renamed before its first reply', async () => {
    const held = gate();
    gemini.enqueue({ kind: 'reply', chunks: ['ok'], gate: held.promise });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const { reply } = (await send(user, room, 'hello', { query: '?wait=false' })).json<Exchange>();
    const renamed = await t.request({ method: 'PATCH', url: `/chatroom/${room}`, ...authJson(user, { title: 'My own name' }) });
    expect(renamed.statusCode).toBe(200);
    held.open();
    // The job logs the reply once everything after it (the title decision included) is done.
    await waitUntil(() => t.logs.some((line) => line.includes(reply.id) && line.includes('"reply generated"')), 'the reply job ended');
    expect((await conversationOf(user, room)).title).toBe('My own name');
    expect(titleCalls()).toHaveLength(0);
  });

  it('drops a generated title when the owner renames the chatroom while it is being made', async () => {
    const held = gate();
    gemini.enqueue({ kind: 'reply', chunks: ['Sure.'] }, { kind: 'reply', chunks: ['Too late'], gate: held.promise });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    await sent(user, room, 'Can you help?');
    await waitUntil(() => titleCalls().length === 1, 'the title call reached the model');
    await t.request({ method: 'PATCH', url: `/chatroom/${room}`, ...authJson(user, { title: 'Mine' }) });
    held.open();
    await waitUntil(() => t.logs.some((line) => line.includes(room) && line.includes('generated title dropped')), 'the title job ended');
    expect((await conversationOf(user, room)).title).toBe('Mine');
  });
});

describe('export', () => {
  it('downloads the current branch as JSON or Markdown', async () => {
    gemini.enqueue({ kind: 'reply', chunks: ['A1'] }, { kind: 'reply', chunks: ['A2'] }, { kind: 'reply', chunks: ['A2 better'] });
    const user = await signIn(t);
    const room = await titledRoom(user, { title: 'Road trip' });
    const first = await sent(user, room, 'Q1');
    await sent(user, room, 'Q2 replaced');
    const edited = await sent(user, room, 'Q2 kept', first.reply.id);

    const asJson = await t.request({ method: 'GET', url: `/chatroom/${room}/export?format=json`, headers: bearer(user.accessToken) });
    expect(asJson.statusCode).toBe(200);
    expect(asJson.headers['content-disposition']).toMatch(/^attachment; filename="road-trip-[0-9a-f]{8}\.json"$/);
    const exported = asJson.json<{ chatroom: { id: string; title: string }; messages: TreeMessage[] }>();
    expect(exported.chatroom).toMatchObject({ id: room, title: 'Road trip' });
    expect(idsOf(exported.messages)).toEqual([first.userMessage.id, first.reply.id, edited.userMessage.id, edited.reply.id]);

    const asMarkdown = await t.request({ method: 'GET', url: `/chatroom/${room}/export?format=markdown`, headers: bearer(user.accessToken) });
    expect(asMarkdown.statusCode).toBe(200);
    expect(asMarkdown.headers['content-type']).toContain('text/markdown');
    expect(asMarkdown.headers['content-disposition']).toMatch(/^attachment; filename=".+\.md"$/);
    expect(asMarkdown.body).toContain('# Road trip');
    expect(asMarkdown.body).toContain('Q2 kept');
    expect(asMarkdown.body).toContain('A2 better');
    expect(asMarkdown.body).not.toContain('Q2 replaced');
    const badFormat = await t.request({ method: 'GET', url: `/chatroom/${room}/export?format=pdf`, headers: bearer(user.accessToken) });
    expect(badFormat.statusCode).toBe(400);
  });
});

describe('a long conversation', () => {
  /**
   * Writes a chain of `exchanges` prompt/reply pairs straight into the database (every reply of an
   * exchange numbered 3 mod 10 failed), with a second branch off the 10th prompt, and makes the
   * chain's last reply the chatroom's current message. Returns the chain, oldest first.
   */
  async function writeLongChat(user: SignedInUser, room: string, exchanges: number) {
    const chain: { id: string; parentId: string | null; role: 'user' | 'model'; content: string; status: 'done' | 'failed' }[] = [];
    for (let i = 0; i < exchanges; i++) {
      const prompt = { id: randomUUID(), parentId: chain.at(-1)?.id ?? null, role: 'user' as const, content: `Q${i}`, status: 'done' as const };
      const failed = i % 10 === 3;
      chain.push(prompt, { id: randomUUID(), parentId: prompt.id, role: 'model', content: failed ? '' : `A${i}`, status: failed ? 'failed' : 'done' });
    }
    const branchPrompt = { id: randomUUID(), parentId: chain[19]?.id ?? null, role: 'user' as const, content: 'off the path', status: 'done' as const };
    const branchReply = { id: randomUUID(), parentId: branchPrompt.id, role: 'model' as const, content: 'off the path too', status: 'done' as const };
    const rows = [...chain, branchPrompt, branchReply].map(
      (m) => sql`(${m.id}, ${room}, ${user.id}, ${m.parentId}, ${m.role}, ${m.content}, ${m.status}, now(), now())`,
    );
    const { db } = t.container.database;
    await db.execute(
      sql`insert into messages (id, chatroom_id, user_id, parent_id, role, content, status, created_at, updated_at) values ${sql.join(rows, sql`, `)}`,
    );
    await db.execute(sql`update chatrooms set current_message_id = ${chain.at(-1)?.id ?? null} where id = ${room}`);
    return chain;
  }

  it('pages through its whole path, exports it whole, and gives the model the newest 100 usable turns', async () => {
    const user = await signIn(t);
    const room = await titledRoom(user);
    const chain = await writeLongChat(user, room, 120);

    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const res = await t.request({ method: 'GET', url: `/chatroom/${room}/messages?limit=50${cursor ? `&cursor=${cursor}` : ''}`, headers: bearer(user.accessToken) });
      expect(res.statusCode).toBe(200);
      const page = res.json<{ items: TreeMessage[]; nextCursor: string | null }>();
      pages.push(idsOf(page.items));
      cursor = page.nextCursor;
    } while (cursor && pages.length < 10);
    expect(pages.map((page) => page.length)).toEqual([50, 50, 50, 50, 40]);
    expect(pages.flat()).toEqual(idsOf(chain).reverse());

    const latest = await conversationOf(user, room);
    expect(idsOf(latest.messages)).toEqual(idsOf(chain.slice(-50)));
    expect(latest.hasMoreMessages).toBe(true);

    const exported = await t.request({ method: 'GET', url: `/chatroom/${room}/export?format=json`, headers: bearer(user.accessToken) });
    expect(idsOf(exported.json<{ messages: TreeMessage[] }>().messages)).toEqual(idsOf(chain));

    gemini.enqueue({ kind: 'reply', chunks: ['A120'] });
    const next = await sent(user, room, 'Q120');
    expect(next.userMessage.parentId).toBe(chain.at(-1)?.id);
    // What the model must see: the newest 100 prompts and finished replies (the new prompt among
    // them), starting with a prompt, a prompt whose reply failed joined to the next one.
    const usable = [...chain.filter((m) => m.status === 'done'), { role: 'user', content: 'Q120' }].slice(-100);
    while (usable[0]?.role === 'model') usable.shift();
    const expected: string[] = [];
    for (const turn of usable) {
      const previous = expected.at(-1);
      if (previous?.startsWith(`${turn.role}:`)) expected[expected.length - 1] = `${previous}\n\n${turn.content}`;
      else expected.push(`${turn.role}:${turn.content}`);
    }
    expect(turnsOf(replyCalls()[0])).toEqual(expected);
    expect(expected.join()).not.toContain('off the path');
  });
});

describe('ownership', () => {
  it('answers 404 for another user’s chatroom, reply or parent on every new route, spending nothing', async () => {
    const owner = await signIn(t);
    const stranger = await signIn(t);
    const ownerRoom = await titledRoom(owner);
    const { reply } = await sent(owner, ownerRoom, 'mine');
    const strangerRoom = await titledRoom(stranger);

    const attempts = [
      { res: await regenerate(stranger, ownerRoom, reply.id), code: 'CHATROOM_NOT_FOUND' },
      { res: await regenerate(stranger, strangerRoom, reply.id), code: 'MESSAGE_NOT_FOUND' },
      { res: await send(stranger, strangerRoom, 'hijack', { parentId: reply.id }), code: 'MESSAGE_NOT_FOUND' },
      { res: await send(stranger, ownerRoom, 'hijack', { parentId: reply.id }), code: 'CHATROOM_NOT_FOUND' },
      { res: await switchTo(stranger, ownerRoom, reply.id), code: 'CHATROOM_NOT_FOUND' },
      { res: await switchTo(stranger, strangerRoom, reply.id), code: 'MESSAGE_NOT_FOUND' },
      { res: await t.request({ method: 'GET', url: `/chatroom/${ownerRoom}/export`, headers: bearer(stranger.accessToken) }), code: 'CHATROOM_NOT_FOUND' },
      {
        res: await t.request({ method: 'PATCH', url: `/chatroom/${ownerRoom}`, ...authJson(stranger, { settings: { temperature: 1 } }) }),
        code: 'CHATROOM_NOT_FOUND',
      },
    ];
    for (const { res, code } of attempts) {
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe(code);
    }
    expect(await usedToday(stranger)).toBe(0);
    expect((await conversationOf(owner, ownerRoom)).settings.temperature).toBeNull();
    expect((await t.request({ method: 'GET', url: '/models' })).statusCode).toBe(401);
  });

  it('documents every new route in the OpenAPI document', async () => {
    const spec = (await t.request({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, Record<string, { operationId?: string; summary?: string; security?: unknown[] }>> }>();
    const routes: [string, string, string][] = [
      ['/chatroom/{id}/messages/{replyId}/regenerate', 'post', 'regenerateReply'],
      ['/chatroom/{id}/current-message', 'put', 'switchBranch'],
      ['/chatroom/{id}/export', 'get', 'exportChatroom'],
      ['/models', 'get', 'listModels'],
      ['/chatroom/{id}', 'patch', 'updateChatroom'],
    ];
    for (const [path, method, operationId] of routes) {
      const operation = spec.paths[path]?.[method];
      expect(operation, `${method} ${path}`).toMatchObject({ operationId });
      expect(operation?.summary).toBeTruthy();
      expect(operation?.security).toEqual([{ bearerAuth: [] }]);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// An existing database migrated into the tree, and the offline stand-in's titles.

const TREE_MIGRATION = '0006_conversation_tree';

const legacy = {
  userId: randomUUID(),
  mobile: makeMobile(),
  roomA: randomUUID(),
  roomB: randomUUID(),
  // Two chatrooms whose messages interleave in time: each must keep its own order.
  messages: [
    ['a1', 'roomA', 'user', 'What is the capital of Peru?'],
    ['b1', 'roomB', 'user', 'Other chat, first prompt'],
    ['a2', 'roomA', 'model', 'Lima.'],
    ['b2', 'roomB', 'model', 'Other chat, first reply'],
    ['a3', 'roomA', 'user', 'And its population?'],
    ['a4', 'roomA', 'model', 'About ten million.'],
  ].map(([key, room, role, content]) => ({ key: key as string, id: randomUUID(), room: room as 'roomA' | 'roomB', role: role as string, content: content as string })),
};

/** SQL as the app before the tree would have written it. */
function legacyConversationSql(): string[] {
  // An hour ago, not a fixed date: the worker's retention sweep deletes numbers left unproved for a
  // week, and this user (who never logged in) would vanish once the date was a week old.
  const at = `'${new Date(Date.now() - 3600_000).toISOString()}'`;
  return [
    `insert into users (id, mobile, created_at, updated_at) values ('${legacy.userId}', '${legacy.mobile}', ${at}, ${at})`,
    ...(['roomA', 'roomB'] as const).map(
      (room) => `insert into chatrooms (id, user_id, title, created_at, updated_at) values ('${legacy[room]}', '${legacy.userId}', 'Old ${room}', ${at}, ${at})`,
    ),
    ...legacy.messages.map(
      (m) =>
        `insert into messages (id, chatroom_id, user_id, role, content, status, created_at, updated_at, completed_at) ` +
        `values ('${m.id}', '${legacy[m.room]}', '${legacy.userId}', '${m.role}', '${m.content}', 'done', ${at}, ${at}, ${at})`,
    ),
  ];
}

/** The test's database as the app before the tree left it, with a conversation in it. */
const legacyDatabase = databaseBefore(TREE_MIGRATION, legacyConversationSql);

describe('an existing database, and the offline stand-in', () => {
  let offline: TestApp;

  beforeAll(async () => {
    offline = await startTestApp({ env: { AUTO_TITLE: 'true' }, prepareDatabase: legacyDatabase.prepare });
  });
  afterAll(async () => {
    await offline.close();
    legacyDatabase.cleanUp();
  });

  async function signInLegacyUser(): Promise<SignedInUser> {
    const { otp } = await sendOtp(offline, legacy.mobile);
    const res = await offline.request({ method: 'POST', url: '/auth/verify-otp', ...json({ mobile: legacy.mobile, otp }) });
    expect(res.statusCode).toBe(200);
    const pair = res.json<{ accessToken: string; refreshToken: string }>();
    return { id: legacy.userId, mobile: legacy.mobile, ...pair };
  }

  it('keeps a conversation written before the tree readable in the same order, and continues it', async () => {
    const user = await signInLegacyUser();
    const idOf = (key: string) => legacy.messages.find((m) => m.key === key)?.id;
    const res = await offline.request({ method: 'GET', url: `/chatroom/${legacy.roomA}`, headers: bearer(user.accessToken) });
    expect(res.statusCode).toBe(200);
    const room = res.json<Conversation>();
    expect(room.messages.map((m) => m.content)).toEqual(['What is the capital of Peru?', 'Lima.', 'And its population?', 'About ten million.']);
    expect(room.messages.map((m) => m.parentId)).toEqual([null, idOf('a1'), idOf('a2'), idOf('a3')]);
    expect(room.messages.every((m) => m.siblingIds.length === 1)).toBe(true);
    expect(room.currentMessageId).toBe(idOf('a4'));
    const other = (await offline.request({ method: 'GET', url: `/chatroom/${legacy.roomB}`, headers: bearer(user.accessToken) })).json<Conversation>();
    expect(other.messages.map((m) => m.id)).toEqual([idOf('b1'), idOf('b2')]);

    const next = await offline.request({ method: 'POST', url: `/chatroom/${legacy.roomA}/message`, ...authJson(user, { content: 'Thanks!' }) });
    expect(next.statusCode).toBe(201);
    const { userMessage, reply } = next.json<Exchange>();
    expect(userMessage.parentId).toBe(idOf('a4'));
    // The stand-in says how many earlier turns it was given: the whole old conversation.
    expect(reply.content).toContain('I was given 4 earlier turns');
  });

  it('titles a new chatroom from the first words of its prompt', async () => {
    const user = await signIn(offline);
    const room = await createRoom(offline, user);
    const res = await offline.request({
      method: 'POST',
      url: `/chatroom/${room}/message`,
      ...authJson(user, { content: 'Best beaches near Lisbon for a winter weekend away with kids' }),
    });
    expect(res.statusCode).toBe(201);
    const titleOf = async () => (await offline.request({ method: 'GET', url: `/chatroom/${room}`, headers: bearer(user.accessToken) })).json<Conversation>().title;
    await waitUntil(async () => (await titleOf()) !== 'New chat', 'the chatroom got a title');
    expect(await titleOf()).toBe('Best beaches near Lisbon for a winter weekend');
  });
});
