import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ReplyEvent } from '../src/infra/reply-stream.js';
import { startRecovery } from '../src/modules/generation/recovery.js';
import { createScheduler } from '../src/modules/generation/scheduling.js';
import { insertMessage } from '../src/modules/messages/message.repository.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { signIn } from './helpers/factories.js';
import { jobOf } from './helpers/generation.js';
import { createRoom, pollUntilFinished, sendMessage, type Message } from './helpers/messages.js';
import { waitUntil } from './helpers/wait.js';
import { startFakeGemini, type FakeGemini } from './fakes/gemini-server.js';

let gemini: FakeGemini;
let t: TestApp;

type Exchange = { userMessage: Message; reply: Message };

beforeAll(async () => {
  gemini = await startFakeGemini();
});
afterAll(async () => {
  await gemini.close();
});
beforeEach(() => gemini.reset());

describe('a reply stream that fails while the model streams', () => {
  beforeAll(async () => {
    // No worker of its own: the job is run by hand, on a reply stream that fails.
    t = await startTestApp({ worker: false, captureLogs: true, env: { GEMINI_API_KEY: 'test-key', GEMINI_BASE_URL: gemini.url } });
  });
  afterAll(async () => {
    await t.close();
  });

  /** The app's reply stream, except that the deltas numbered in `failing` (from 1) are refused. */
  function streamFailingAt(failing: (n: number) => boolean) {
    let deltas = 0;
    return {
      append: (replyId: string, event: ReplyEvent) => {
        if (event.type === 'delta' && failing(++deltas)) return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379'));
        return t.container.stream.append(replyId, event);
      },
    };
  }

  async function pendingReply() {
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const { reply } = (await sendMessage(t, user, room, 'stream this', { wait: false })).json<Exchange>();
    return { user, room, reply };
  }

  it('is not a model failure: the model is called once and the reply is stored whole', async () => {
    gemini.enqueue({ kind: 'reply', chunks: ['one ', 'two ', 'three'] });
    const { user, room, reply } = await pendingReply();
    const logsBefore = t.logs.length;
    await jobOf(t, { stream: streamFailingAt((n) => n >= 2), maxAttempts: 3 })(reply.id, { attempt: 1, signal: new AbortController().signal });

    expect(await pollUntilFinished(t, user, room, reply.id)).toMatchObject({ status: 'done', content: 'one two three', error: null });
    expect(gemini.requests).toHaveLength(1);
    const logged = t.logs.slice(logsBefore).join('');
    expect(logged).toContain('REPLY_STREAM_UNAVAILABLE');
    expect(logged).toContain('"source":"storage"');
    expect(logged).not.toContain('MODEL_NETWORK_ERROR');
  });

  it('gives listeners the whole text again once the stream takes writes again', async () => {
    gemini.enqueue({ kind: 'reply', chunks: ['a', 'b', 'c', 'd'] });
    const { user, room, reply } = await pendingReply();
    await jobOf(t, { stream: streamFailingAt((n) => n === 2) })(reply.id, { attempt: 1, signal: new AbortController().signal });

    const stored = await pollUntilFinished(t, user, room, reply.id);
    expect(stored.content).toBe('abcd');
    let held = '';
    for (const { event } of await t.container.stream.range(reply.id, '0-0')) {
      if (event.type === 'delta') held += event.text;
      if (event.type === 'reset') held = '';
    }
    expect(held).toBe(stored.content);
  });
});

describe('worker shutdown', () => {
  beforeAll(async () => {
    // One attempt: a handed-back job that counted as an attempt could never run again.
    t = await startTestApp({ env: { GEMINI_API_KEY: 'test-key', GEMINI_BASE_URL: gemini.url, GENERATION_MAX_ATTEMPTS: '1' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('lets a generation finish within the grace', async () => {
    gemini.enqueue({ kind: 'reply', chunks: ['finished ', 'during ', 'the grace'], chunkDelayMs: 100 });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const { reply } = (await sendMessage(t, user, room, 'finish me', { wait: false })).json<Exchange>();
    await waitUntil(() => gemini.requests.length === 1, 'the model was called');
    await t.container.stopWorker(10_000);
    expect(gemini.requests[0]?.closedEarly).toBe(false);
    expect(await pollUntilFinished(t, user, room, reply.id)).toMatchObject({ status: 'done', content: 'finished during the grace' });
    t.container.startWorker();
  });

  it('after the grace aborts the model call and hands the job back without spending an attempt', async () => {
    gemini.enqueue({ kind: 'hang' });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const { reply } = (await sendMessage(t, user, room, 'interrupted', { wait: false })).json<Exchange>();
    await waitUntil(() => gemini.requests.length === 1, 'the model was called');

    await t.container.stopWorker(200);
    await waitUntil(() => gemini.requests[0]?.closedEarly === true, 'the model call was cancelled');
    const meanwhile = (await t.request({ method: 'GET', url: `/chatroom/${room}/messages/${reply.id}`, headers: { authorization: `Bearer ${user.accessToken}` } })).json<Message>();
    expect(meanwhile.status).not.toBe('failed');

    gemini.enqueue({ kind: 'reply', chunks: ['after ', 'the restart'] });
    t.container.startWorker();
    expect(await pollUntilFinished(t, user, room, reply.id)).toMatchObject({ status: 'done', content: 'after the restart' });
    expect(gemini.requests).toHaveLength(2);
  });
});

describe('the recovery sweep', () => {
  beforeAll(async () => {
    t = await startTestApp({ worker: false });
  });
  afterAll(async () => {
    await t.close();
  });

  it('reaches every chatroom however long the backlog, and schedules only the reply whose turn it is', async () => {
    const user = await signIn(t);
    const { db } = t.container.database;
    const now = t.clock.now();
    const heads: string[] = [];
    for (let i = 0; i < 5; i++) {
      const room = await createRoom(t, user);
      // As if the queue had lost them: rows, no jobs. Two replies waiting in each chatroom.
      for (let turn = 0; turn < 2; turn++) {
        await insertMessage(db, { chatroomId: room, userId: user.id, role: 'user', content: `prompt ${turn}`, status: 'done' }, now);
        const reply = await insertMessage(db, { chatroomId: room, userId: user.id, role: 'model', status: 'pending' }, now);
        if (turn === 0) heads.push(reply.id);
      }
    }
    const enqueued: string[] = [];
    const scheduler = createScheduler({ replies: t.container.replies, queue: { enqueue: (id) => Promise.resolve(void enqueued.push(id)) } });
    const recovery = startRecovery({ replies: t.container.replies, scheduler, clock: t.clock, log: t.container.log, intervalSeconds: 3600, pageSize: 2 });
    recovery.stop();
    expect(await recovery.sweep(now)).toBe(5);
    // (The sweep at start-up ran too: the same replies again, which the queue's job ids make harmless.)
    expect([...new Set(enqueued)].sort()).toEqual([...heads].sort());
  });
});
