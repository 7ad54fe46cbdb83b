import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeMobile } from './helpers/factories.js';
import { provisionFreshBackends, testMode, type FreshBackends } from './helpers/mode.js';
import { roleDeployment, startRole, stopRole, waitForStatus, type RoleProcess } from './helpers/processes.js';
import { heldText, openSse } from './helpers/sse-client.js';
import { waitFor, waitUntil } from './helpers/wait.js';
import { startFakeGemini, type FakeGemini } from './fakes/gemini-server.js';

interface Message {
  id: string;
  status: string;
  content: string;
  finishReason: string | null;
}

describe.runIf(testMode === 'services')('an api and two worker processes on PostgreSQL + Redis', () => {
  let backends: FreshBackends;
  let gemini: FakeGemini;
  beforeAll(async () => {
    backends = await provisionFreshBackends();
    gemini = await startFakeGemini();
  });
  afterAll(async () => {
    await gemini.close();
    await backends.dispose();
  });

  it('keep one chatroom in order across workers, and stop a reply running in another process', async () => {
    const { base, env } = await roleDeployment('procs', backends.env, gemini.url);
    gemini.setDefault({ kind: 'reply', chunks: ['Answer ', 'here.'], chunkDelayMs: 100 });
    const api = startRole('api', env);
    const processes: RoleProcess[] = [api, startRole('worker', env), startRole('worker', env)];
    try {
      await waitForStatus(`${base}/readyz`, 200, api, 45_000);
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
      const poll = (id: string) =>
        waitFor(
          async () => {
            const message = (await call('GET', `/chatroom/${room}/messages/${id}`, undefined, token)).body as unknown as Message;
            return message.status === 'done' || message.status === 'failed' ? message : undefined;
          },
          `reply ${id} finished`,
          { timeoutMs: 30_000 },
        );

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
