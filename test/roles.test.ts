import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_JWT_SECRET } from './helpers/app.js';
import { makeMobile } from './helpers/factories.js';
import { provisionBackends, testMode, type TestBackends } from './helpers/mode.js';
import { startFakeGemini, type FakeGemini } from './fakes/gemini-server.js';

// `npm run start:api` and `npm run start:worker` as real processes: what a deployment runs.
const MAIN = ['--import', 'tsx', 'src/main.ts'];

function start(role: 'api' | 'worker', env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, [...MAIN, role], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

describe.runIf(testMode === 'embedded')('separate roles without PostgreSQL and Redis', () => {
  it('refuse to start, saying what they need', async () => {
    const api = start('api', { DATABASE_URL: '', REDIS_URL: '', NODE_ENV: 'test' });
    const [code] = (await once(api.child, 'exit')) as [number];
    expect(code).toBe(1);
    expect(api.output()).toContain("The 'api' role shares work with other processes through PostgreSQL and Redis");
  });
});

describe.runIf(testMode === 'services')('api and worker as separate processes on PostgreSQL + Redis', () => {
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

  it('pass a message from the api to the worker and the reply back, then shut down cleanly on SIGTERM', async () => {
    const port = await freePort();
    const env = {
      ...backends.env,
      NODE_ENV: 'test',
      PORT: String(port),
      WORKER_PORT: '0', // each worker its own free health port
      HOST: '127.0.0.1',
      JWT_SECRET: TEST_JWT_SECRET,
      REDIS_KEY_PREFIX: `roles-${port}:`,
      GEMINI_API_KEY: 'test-key',
      GEMINI_BASE_URL: gemini.url,
      // No title calls: the model's requests are counted.
      AUTO_TITLE: 'false',
      LOG_LEVEL: 'warn',
    };
    gemini.enqueue({ kind: 'reply', chunks: ['from ', 'the ', 'worker ', 'process'] });
    const api = start('api', env);
    const worker = start('worker', env);
    try {
      const base = `http://127.0.0.1:${port}`;
      for (let i = 0; i < 200; i++) {
        const ready = await fetch(`${base}/readyz`).catch(() => undefined);
        if (ready?.ok) break;
        await sleep(100);
      }
      const post = (path: string, body: unknown, token?: string) =>
        fetch(`${base}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify(body),
        });
      const mobile = makeMobile();
      expect((await post('/auth/signup', { mobile })).status).toBe(201);
      const { otp } = (await (await post('/auth/send-otp', { mobile })).json()) as { otp: string };
      const { accessToken } = (await (await post('/auth/verify-otp', { mobile, otp })).json()) as { accessToken: string };
      const room = (await (await post('/chatroom', {}, accessToken)).json()) as { id: string };
      const sent = await post(`/chatroom/${room.id}/message`, { content: 'across processes' }, accessToken);
      expect(sent.status).toBe(201);
      const { reply } = (await sent.json()) as { reply: { status: string; content: string } };
      expect(reply).toMatchObject({ status: 'done', content: 'from the worker process' });
    } finally {
      const codes = [await stop(api.child), await stop(worker.child)];
      expect(codes, `api:\n${api.output()}\nworker:\n${worker.output()}`).toEqual([0, 0]);
    }
  }, 60_000);
});
