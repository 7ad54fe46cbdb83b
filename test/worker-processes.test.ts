import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_JWT_SECRET } from './helpers/app.js';
import { makeMobile } from './helpers/factories.js';
import { provisionBackends, testMode, type TestBackends } from './helpers/mode.js';
import { freePort, startRole, stopRole, waitForOk, type RoleProcess } from './helpers/processes.js';
import { heldText, openSse } from './helpers/sse-client.js';
import { waitUntil } from './helpers/wait.js';
import { startFakeGemini, type FakeGemini } from './fakes/gemini-server.js';

interface Message {
  id: string;
  status: string;
  content: string;
  finishReason: string | null;
}

describe.runIf(testMode === 'services')('an api and two worker processes on PostgreSQL + Redis', () => {
  let backends: TestBackends;
  let gemini: FakeGemini;
  beforeAll(async () => {
    backends = await provisionBackends();
    gemini = await startFakeGemini();
  });
  afterAll(async () => {
    await gemini.close();
    await backends.dispose();
  });

  it('keep one chatroom in order across workers, and stop a reply running in another process', async () => {
    const port = await freePort();
    const env = {
      ...backends.env,
      NODE_ENV: 'test',
      PORT: String(port),
      WORKER_PORT: '0', // each worker its own free health port
      HOST: '127.0.0.1',
      JWT_SECRET: TEST_JWT_SECRET,
      REDIS_KEY_PREFIX: `procs-${port}:`,
      GEMINI_API_KEY: 'test-key',
      GEMINI_BASE_URL: gemini.url,
      // No title calls: the model's requests are counted.
      AUTO_TITLE: 'false',
      LOG_LEVEL: 'warn',
    };
    gemini.setDefault({ kind: 'reply', chunks: ['Answer ', 'here.'], chunkDelayMs: 100 });
    const processes: RoleProcess[] = [startRole('api', env), startRole('worker', env), startRole('worker', env)];
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitForOk(`${base}/readyz`);
      const call = async (method: string, path: string, body?: unknown, token?: string) => {
        const res = await fetch(`${base}${path}`, {
          method,
          headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      };
      const mobile = makeMobile();
      await call('POST', '/auth/signup', { mobile });
      const { otp } = (await call('POST', '/auth/send-otp', { mobile })).body as { otp: string };
      const { accessToken: token } = (await call('POST', '/auth/verify-otp', { mobile, otp })).body as { accessToken: string };
      const room = (await call('POST', '/chatroom', {}, token)).body.id as string;
      const replyOf = async (content: string) => ((await call('POST', `/chatroom/${room}/message?wait=false`, { content }, token)).body.reply as Message).id;
      const poll = async (id: string) => {
        let message: Message | undefined;
        await waitUntil(async () => {
          message = (await call('GET', `/chatroom/${room}/messages/${id}`, undefined, token)).body as unknown as Message;
          return message.status === 'done' || message.status === 'failed';
        }, `reply ${id} finished`);
        return message as Message;
      };

      const first = await replyOf('What is 2+2?');
      const second = await replyOf('And the capital of France?');
      expect(await poll(second)).toMatchObject({ status: 'done', content: 'Answer here.' });
      expect(await poll(first)).toMatchObject({ status: 'done', content: 'Answer here.' });
      expect(gemini.requests[1]?.body.contents?.map((c) => c.parts?.map((p) => p.text).join(''))).toEqual([
        'What is 2+2?',
        'Answer here.',
        'And the capital of France?',
      ]);
      const firstEnded = gemini.happenings.findIndex((h) => h.request === 0 && h.what === 'ended');
      expect(gemini.happenings.findIndex((h) => h.request === 1 && h.what === 'received')).toBeGreaterThan(firstEnded);

      // The api process cannot run jobs: a stop reaches the worker that runs the reply through Redis.
      gemini.enqueue({ kind: 'reply', chunks: ['Partial ', 'never sent'], hangAfter: 1 });
      const third = await replyOf('Write an essay');
      await waitUntil(() => gemini.requests[2]?.chunksSent === 1, 'the first chunk was streamed');
      const listener = await openSse(`${base}/chatroom/${room}/messages/${third}/stream`, { authorization: `Bearer ${token}` });
      await listener.until((events) => heldText(events) === 'Partial ', 'the first chunk, through the api');
      const stopped = await call('POST', `/chatroom/${room}/messages/${third}/stop`, undefined, token);
      expect(stopped.status).toBe(200);
      expect(stopped.body).toMatchObject({ status: 'done', finishReason: 'STOPPED', content: 'Partial ' });
      await listener.finished;
      expect(listener.events.at(-1)).toMatchObject({ event: 'done', data: { finishReason: 'STOPPED' } });
      await waitUntil(() => gemini.requests[2]?.closedEarly === true, 'the worker cancelled the model call');
    } finally {
      const codes = await Promise.all(processes.map((p) => stopRole(p)));
      expect(codes, processes.map((p) => p.output()).join('\n----\n')).toEqual([0, 0, 0]);
    }
  }, 90_000);
});
