import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_JWT_SECRET } from './helpers/app.js';
import { makeMobile } from './helpers/factories.js';
import { provisionBackends, testMode, type TestBackends } from './helpers/mode.js';
import { startFakeGemini, type FakeGemini } from './fakes/gemini-server.js';

/*
 * A fault from outside, through the public HTTP API only: the worker process running a reply is
 * killed (SIGKILL, no shutdown) in the middle of the stream. Another worker must finish it: the reply
 * ends done or failed, never stuck, and its prompt is spent once at most.
 */

const MAIN = ['--import', 'tsx', 'src/main.ts'];

function start(role: 'api' | 'worker', env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, [...MAIN, role], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

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
    const port = await freePort();
    const env = {
      ...backends.env,
      NODE_ENV: 'test',
      PORT: String(port),
      HOST: '127.0.0.1',
      JWT_SECRET: TEST_JWT_SECRET,
      REDIS_KEY_PREFIX: `kill-${port}:`,
      GEMINI_API_KEY: 'test-key',
      GEMINI_BASE_URL: gemini.url,
      GENERATION_RECOVERY_INTERVAL_SECONDS: '5',
      LOG_LEVEL: 'warn',
    };
    // The first call streams slowly (the worker dies during it); the retry answers at once.
    gemini.enqueue({ kind: 'reply', chunks: Array.from({ length: 40 }, (_, i) => `slow ${i} `), chunkDelayMs: 250 });
    gemini.setDefault({ kind: 'reply', chunks: ['finished ', 'by ', 'another ', 'worker'] });
    const api = start('api', env);
    const first = start('worker', env);
    let second: ReturnType<typeof start> | undefined;
    try {
      const base = `http://127.0.0.1:${port}`;
      for (let i = 0; i < 600 && !(await fetch(`${base}/readyz`).catch(() => undefined))?.ok; i++) await sleep(100);
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
      let current = await replyNow();
      for (let i = 0; i < 600 && (gemini.requests.length === 0 || current.status !== 'streaming'); i++) {
        await sleep(50);
        current = await replyNow();
      }
      expect(gemini.requests.length).toBe(1);
      expect(current.status).toBe('streaming');
      first.child.kill('SIGKILL');
      await once(first.child, 'exit');

      second = start('worker', env);
      let final = await replyNow();
      for (let i = 0; i < 1500 && (final.status === 'pending' || final.status === 'streaming'); i++) {
        await sleep(100);
        final = await replyNow();
      }
      console.log(`[faults] worker SIGKILLed mid-stream: the reply ended ${final.status} after ${gemini.requests.length} model calls`);
      expect(['done', 'failed']).toContain(final.status);
      const status = (await (await call('GET', '/subscription/status', undefined, accessToken)).json()) as { usage: { used: number } };
      expect(status.usage.used).toBe(final.status === 'done' ? 1 : 0);
    } finally {
      for (const proc of [api, second].filter((p) => p !== undefined)) {
        if (proc.child.exitCode === null) {
          proc.child.kill('SIGTERM');
          await once(proc.child, 'exit');
        }
      }
    }
  });
});
