import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { insertMessage } from '../src/modules/messages/message.repository.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { signIn } from './helpers/factories.js';
import { createRoom, parseSse, pollUntilFinished, sendMessage, type Message } from './helpers/messages.js';
import { gate } from './helpers/wait.js';
import { startFakeGemini, type FakeGemini } from './fakes/gemini-server.js';

let gemini: FakeGemini;
let t: TestApp;

beforeAll(async () => {
  gemini = await startFakeGemini();
  t = await startTestApp({
    env: {
      GEMINI_API_KEY: 'test-key',
      GEMINI_BASE_URL: gemini.url,
      GEMINI_TIMEOUT_MS: '1000',
      GENERATION_MAX_ATTEMPTS: '3',
      REPLY_WAIT_MS: '100',
    },
  });
});
afterAll(async () => {
  await t.close();
  await gemini.close();
});
beforeEach(() => gemini.reset());

type Exchange = { userMessage: Message; reply: Message };

describe('slow and stuck replies', () => {
  it('answers 202 with a Location when the reply outlasts REPLY_WAIT_MS, and the reply ends done', async () => {
    // The model holds its answer until the send has answered (not a delay: GEMINI_TIMEOUT_MS is 1 s, and a busy machine would hit it).
    const model = gate();
    gemini.enqueue({ kind: 'reply', chunks: ['slow ', 'but ', 'sure'], gate: model.promise });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const res = await sendMessage(t, user, room, 'take your time');
    model.open();
    expect(res.statusCode).toBe(202);
    const { reply } = res.json<Exchange>();
    expect(['pending', 'streaming']).toContain(reply.status);
    expect(res.headers.location).toBe(`/chatroom/${room}/messages/${reply.id}`);
    expect(await pollUntilFinished(t, user, room, reply.id)).toMatchObject({ status: 'done', content: 'slow but sure' });
  });

  it('times out a call that hangs and retries it', async () => {
    gemini.enqueue({ kind: 'hang' }, { kind: 'reply', chunks: ['second try'] });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const { reply } = (await sendMessage(t, user, room, 'hello?', { wait: false })).json<Exchange>();
    expect(await pollUntilFinished(t, user, room, reply.id)).toMatchObject({ status: 'done', content: 'second try' });
    expect(gemini.requests).toHaveLength(2);
  });

  it('finishes and stores the reply when the streaming client goes away', async () => {
    gemini.enqueue({ kind: 'reply', chunks: ['still ', 'generated ', 'without ', 'you'], chunkDelayMs: 100 });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const leaving = new AbortController();
    const res = await fetch(`${address}/chatroom/${room}/message`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ content: 'stream, then I leave' }),
      signal: leaving.signal,
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let received = '';
    while (!received.includes('event: message')) received += new TextDecoder().decode((await reader.read()).value);
    const { reply } = JSON.parse(/event: message\ndata: (.*)\n/.exec(received)?.[1] ?? '{}') as Exchange;
    leaving.abort();
    expect(await pollUntilFinished(t, user, room, reply.id)).toMatchObject({ status: 'done', content: 'still generated without you' });
  });
});

describe('recovery', () => {
  it('generates replies left pending with no job (lost queue) once the worker sweeps', async () => {
    const lost = await startTestApp({ worker: false, env: { GEMINI_API_KEY: 'test-key', GEMINI_BASE_URL: gemini.url } });
    try {
      const user = await signIn(lost);
      const room = await createRoom(lost, user);
      // As if the process died after commit and before enqueue: rows, but no job anywhere.
      const now = lost.clock.now();
      const db = lost.container.database.db;
      const prompt = await insertMessage(db, { chatroomId: room, userId: user.id, role: 'user', content: 'are you there?', status: 'done' }, now);
      const reply = await insertMessage(db, { chatroomId: room, userId: user.id, parentId: prompt.id, role: 'model', status: 'pending' }, now);
      gemini.enqueue({ kind: 'reply', chunks: ['recovered'] });

      lost.container.startWorker(); // sweeps at start-up
      expect(await pollUntilFinished(lost, user, room, reply.id)).toMatchObject({ status: 'done', content: 'recovered' });
      expect(gemini.requests[0]?.body.contents?.at(-1)?.parts?.[0]?.text).toBe('are you there?');
    } finally {
      await lost.close();
    }
  });
});

describe('streams and shutdown', () => {
  it('carries CORS headers on SSE, and an open stream does not hold up a graceful close', async () => {
    const app = await startTestApp({ worker: false, env: { CORS_ORIGINS: 'https://app.example' } });
    let closed = false;
    try {
      const user = await signIn(app);
      const room = await createRoom(app, user);
      const { reply } = (await sendMessage(app, user, room, 'never answered', { wait: false })).json<Exchange>();
      const address = await app.app.listen({ port: 0, host: '127.0.0.1' });
      const res = await fetch(`${address}/chatroom/${room}/messages/${reply.id}`, {
        headers: { authorization: `Bearer ${user.accessToken}`, accept: 'text/event-stream', origin: 'https://app.example' },
      });
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example');
      const body = res.text(); // ends when the server ends the stream

      await app.close(); // would wait for the open stream forever without the preClose hook
      closed = true;
      const events = parseSse(await body);
      expect(events.at(0)?.event).toBe('message');
      expect(events.at(-1)).toMatchObject({ event: 'error', data: { code: 'SERVICE_UNAVAILABLE' } });
    } finally {
      if (!closed) await app.close();
    }
  });
});
