import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeMobile } from './helpers/factories.js';
import { provisionBackends, testMode, type TestBackends } from './helpers/mode.js';
import { exitCodeOf, roleDeployment, startRole, stopRole, waitForStatus, type RoleProcess } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';
import { startFakeGemini, type FakeGemini } from './fakes/gemini-server.js';

/*
 * A fault from outside, through the public HTTP API only: the worker process running a reply is
 * killed (SIGKILL, no shutdown) in the middle of the stream. Another worker must finish it: the reply
 * ends done or failed, never stuck, and its prompt is spent once at most.
 */

describe.runIf(testMode === 'services')('a worker killed in the middle of a stream', () => {
  let backends: TestBackends;
  let gemini: FakeGemini;
  beforeAll(async () => {
    backends = await provisionBackends();
    gemini = await startFakeGemini();
  });
  afterAll(async () => {
    await gemini.close();
    await backends.database.close();
  });

  it('leaves no reply stuck: another worker finishes it', { timeout: 180_000 }, async () => {
    const { base, env } = await roleDeployment('kill', backends.env, gemini.url, { GENERATION_RECOVERY_INTERVAL_SECONDS: '5' });
    // The first call streams slowly (the worker dies during it); the retry answers at once.
    gemini.enqueue({ kind: 'reply', chunks: Array.from({ length: 40 }, (_, i) => `slow ${i} `), chunkDelayMs: 250 });
    gemini.setDefault({ kind: 'reply', chunks: ['finished ', 'by ', 'another ', 'worker'] });
    const api = startRole('api', env);
    const first = startRole('worker', env);
    let second: RoleProcess | undefined;
    try {
      await waitForStatus(`${base}/readyz`, 200, api);
      const call = (method: string, path: string, body?: unknown, token?: string) =>
        fetch(`${base}${path}`, {
          method,
          headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      const mobile = makeMobile();
      const signup = (await (await call('POST', '/auth/signup', { mobile })).json()) as { verification: { otp: string } };
      const { accessToken } = (await (await call('POST', '/auth/verify-otp', { mobile, otp: signup.verification.otp })).json()) as { accessToken: string };
      const room = (await (await call('POST', '/chatroom', {}, accessToken)).json()) as { id: string };
      const sent = await call('POST', `/chatroom/${room.id}/message?wait=false`, { content: 'a long answer, please' }, accessToken);
      expect(sent.status).toBe(202);
      const { reply } = (await sent.json()) as { reply: { id: string } };
      const replyNow = async () =>
        (await (await call('GET', `/chatroom/${room.id}/messages/${reply.id}`, undefined, accessToken)).json()) as { status: string; content: string };

      // Mid-stream: the model call is running (it lasts 10 s) and the reply says so.
      await waitFor(
        async () => (gemini.requests.length > 0 && (await replyNow()).status === 'streaming' ? true : undefined),
        'the first worker streams the reply',
        { timeoutMs: 30_000, intervalMs: 50 },
      );
      expect(gemini.requests.length).toBe(1);
      first.child.kill('SIGKILL');
      await exitCodeOf(first.child);

      second = startRole('worker', env);
      const final = await waitFor(
        async () => {
          const now = await replyNow();
          return now.status === 'pending' || now.status === 'streaming' ? undefined : now;
        },
        'the reply is finished by another worker',
        { timeoutMs: 150_000, intervalMs: 100 },
      );
      console.log(`[faults] worker SIGKILLed mid-stream: the reply ended ${final.status} after ${gemini.requests.length} model calls`);
      expect(['done', 'failed']).toContain(final.status);
      const status = (await (await call('GET', '/subscription/status', undefined, accessToken)).json()) as { usage: { used: number } };
      expect(status.usage.used).toBe(final.status === 'done' ? 1 : 0);
    } finally {
      // The first worker too, when the test failed before killing it.
      for (const role of [api, first, second]) if (role) await stopRole(role);
    }
  });
});
