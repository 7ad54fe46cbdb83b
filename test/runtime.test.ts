import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGemini, type FakeGemini } from './fakes/gemini-server.js';
import { TEST_JWT_SECRET } from './helpers/app.js';
import { makeMobile } from './helpers/factories.js';
import { provisionFreshBackends, testMode, type FreshBackends } from './helpers/mode.js';
import { exitCodeOf, freePort, portIsClosed, startProcess, terminate, waitForStatus, type RunningProcess } from './helpers/processes.js';
import { waitUntil } from './helpers/wait.js';

const ROOT = resolve(import.meta.dirname, '..');
const run = promisify(execFile);

/** A client of a running server: signs a user in and talks to the API as a browser or app would. */
function clientOf(base: string) {
  const call = async (method: string, path: string, body?: unknown, token?: string) =>
    fetch(`${base}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  return {
    call,
    async signIn(): Promise<string> {
      const mobile = makeMobile();
      expect((await call('POST', '/auth/signup', { mobile })).status).toBe(201);
      const { otp } = (await (await call('POST', '/auth/send-otp', { mobile })).json()) as { otp: string };
      const verified = await call('POST', '/auth/verify-otp', { mobile, otp });
      expect(verified.status).toBe(200);
      return ((await verified.json()) as { accessToken: string }).accessToken;
    },
    async newChatroom(token: string): Promise<string> {
      const created = await call('POST', '/chatroom', {}, token);
      expect(created.status).toBe(201);
      return ((await created.json()) as { id: string }).id;
    },
  };
}

describe.runIf(testMode === 'embedded')('npm start (the README command for a fresh machine)', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'gc-npm-start-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('passes SIGTERM on to the server: the request in flight is answered, then nothing is left behind (port free, data directory unlocked)', async () => {
    const gemini = await startFakeGemini();
    const port = await freePort();
    const server = startProcess('npm', ['start', '--silent'], {
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      GEMINI_API_KEY: 'test-key',
      GEMINI_BASE_URL: gemini.url,
      AUTO_TITLE: 'false', // a title is a model call too: the fake's scripted replies are for the prompts
      DATABASE_URL: '',
      REDIS_URL: '',
    }, { cwd: ROOT });
    try {
      const base = `http://127.0.0.1:${port}`;
      // npm start builds first: in CI's fresh clone that is the whole build, beside three other test
      // files on two cores (120 s was too tight there).
      await waitForStatus(`${base}/healthz`, 200, server, 240_000);
      const client = clientOf(base);
      const token = await client.signIn();
      const room = await client.newChatroom(token);
      gemini.enqueue({ kind: 'reply', chunks: ['still ', 'answered ', 'after ', 'SIGTERM'], chunkDelayMs: 250 });
      const inFlight = client.call('POST', `/chatroom/${room}/message`, { content: 'a slow one' }, token);
      await waitUntil(() => gemini.requests.length === 1, 'the model call started', { timeoutMs: 30_000 });

      server.child.kill('SIGTERM'); // npm's own pid, as a process manager would signal it
      const answer = await inFlight;
      expect(answer.status).toBe(201);
      expect(((await answer.json()) as { reply: { content: string } }).reply.content).toBe('still answered after SIGTERM');
      expect(await exitCodeOf(server.child), server.output()).toBe(0);
      expect(await portIsClosed(port)).toBe(true);
      expect(existsSync(join(dataDir, 'pglite.lock'))).toBe(false);
    } finally {
      await terminate(server.child);
      await gemini.close();
    }
  }, 180_000);
});

describe.runIf(testMode === 'services')('the compiled build, as the production image runs it', () => {
  let backends: FreshBackends;
  let gemini: FakeGemini;
  let appDir: string;
  let main: string;

  beforeAll(async () => {
    backends = await provisionFreshBackends();
    gemini = await startFakeGemini();
    // The runtime image's contents: dist/ and drizzle/ beside the dependencies, no sources, no tsx.
    appDir = mkdtempSync(join(tmpdir(), 'gc-image-'));
    await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(appDir, 'dist'), '--tsBuildInfoFile', join(appDir, 'tsbuildinfo')]);
    cpSync(join(ROOT, 'drizzle'), join(appDir, 'drizzle'), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(appDir, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(appDir, 'node_modules'));
    main = join(appDir, 'dist/main.js');
  }, 300_000);
  afterAll(async () => {
    await gemini.close();
    await backends.dispose();
    rmSync(appDir, { recursive: true, force: true });
  });

  it('migrates as its own step, then serves a chat from separate api and worker processes that drain and exit 0 on SIGTERM', async () => {
    const port = await freePort();
    const workerPort = await freePort();
    const metricsToken = 'metrics-token-for-the-test';
    const env = {
      ...backends.env,
      NODE_ENV: 'production',
      PORT: String(port),
      WORKER_PORT: String(workerPort),
      HOST: '127.0.0.1',
      JWT_SECRET: TEST_JWT_SECRET,
      STRIPE_SIMULATOR: 'true',
      ALLOW_OTP_IN_RESPONSE: 'true', // the test signs in with the code from the response
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      METRICS_TOKEN: metricsToken,
      REDIS_KEY_PREFIX: `runtime-${port}:`,
      GEMINI_API_KEY: 'test-key',
      GEMINI_BASE_URL: gemini.url,
      AUTO_TITLE: 'false', // a title is a model call too: the fake's scripted replies are for the prompts
      LOG_LEVEL: 'warn',
    };
    const base = `http://127.0.0.1:${port}`;

    // Production does not migrate at start: without the migrate step the api refuses, saying what to run.
    const early = startProcess(process.execPath, [main, 'api'], env, { cwd: appDir });
    expect(await exitCodeOf(early.child)).toBe(1);
    expect(early.output()).toContain('npm run migrate');

    const migrate = startProcess(process.execPath, [main, 'migrate'], env, { cwd: appDir });
    expect(await exitCodeOf(migrate.child), migrate.output()).toBe(0);

    const processes: RunningProcess[] = [];
    const api = startProcess(process.execPath, [main, 'api'], env, { cwd: appDir });
    const worker = startProcess(process.execPath, [main, 'worker'], env, { cwd: appDir });
    processes.push(api, worker);
    try {
      await waitForStatus(`${base}/readyz`, 200, api);
      await waitForStatus(`http://127.0.0.1:${workerPort}/readyz`, 200, worker);
      expect((await fetch(`http://127.0.0.1:${workerPort}/healthz`)).status).toBe(200);

      const client = clientOf(base);
      const token = await client.signIn();
      const room = await client.newChatroom(token);
      gemini.enqueue({ kind: 'reply', chunks: ['from ', 'the ', 'compiled ', 'worker'] });
      const sent = await client.call('POST', `/chatroom/${room}/message`, { content: 'hello' }, token);
      expect(sent.status).toBe(201);
      expect(((await sent.json()) as { reply: { content: string } }).reply.content).toBe('from the compiled worker');

      // Metrics on both roles, behind the token.
      expect((await fetch(`${base}/metrics`)).status).toBe(401);
      const apiMetrics = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
      expect(await apiMetrics.text()).toMatch(/http_request_duration_seconds_count\{method="POST",route="\/chatroom\/:id\/message",status="201"\} 1/);
      const workerMetrics = await fetch(`http://127.0.0.1:${workerPort}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
      expect(await workerMetrics.text()).toContain('process_resident_memory_bytes');

      // SIGTERM to the api while a reply is awaited: the request is answered, then the api exits 0.
      gemini.enqueue({ kind: 'reply', chunks: ['answered ', 'while ', 'draining'], chunkDelayMs: 250 });
      const inFlight = client.call('POST', `/chatroom/${room}/message`, { content: 'slow' }, token);
      await waitUntil(() => gemini.requests.length === 2, 'the second model call started', { timeoutMs: 30_000 });
      api.child.kill('SIGTERM');
      const answer = await inFlight;
      expect(answer.status).toBe(201);
      expect(((await answer.json()) as { reply: { content: string } }).reply.content).toBe('answered while draining');
      expect(await exitCodeOf(api.child), api.output()).toBe(0);
      expect(await terminate(worker.child), worker.output()).toBe(0);
    } finally {
      for (const { child } of processes) await terminate(child);
    }
  }, 180_000);
});
