import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeMobile } from './helpers/factories.js';
import { provisionBackends, testMode, type TestBackends } from './helpers/mode.js';
import { exitCodeOf, roleDeployment, startRole, stopRole, waitForStatus } from './helpers/processes.js';
import { startFakeGemini, type FakeGemini } from './fakes/gemini-server.js';

describe.runIf(testMode === 'embedded')('separate roles without PostgreSQL and Redis', () => {
  it('refuse to start, saying what they need', async () => {
    const api = startRole('api', { DATABASE_URL: '', REDIS_URL: '', NODE_ENV: 'test' });
    expect(await exitCodeOf(api.child)).toBe(1);
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
    await backends.database.close();
  });

  it('pass a message from the api to the worker and the reply back, then shut down cleanly on SIGTERM', async () => {
    const { base, env } = await roleDeployment('roles', backends.env, gemini.url);
    gemini.enqueue({ kind: 'reply', chunks: ['from ', 'the ', 'worker ', 'process'] });
    const api = startRole('api', env);
    const worker = startRole('worker', env);
    try {
      await waitForStatus(`${base}/readyz`, 200, api, 40_000);
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
      const codes = [await stopRole(api), await stopRole(worker)];
      expect(codes, `api:\n${api.output()}\nworker:\n${worker.output()}`).toEqual([0, 0]);
    }
  }, 60_000);

  it('refuse a layout whose processes do not share the file store: a worker with another DATA_DIR stops, saying what to set', async () => {
    const { base, env } = await roleDeployment('layout', backends.env, gemini.url);
    const api = startRole('api', env);
    try {
      await waitForStatus(`${base}/readyz`, 200, api, 40_000);
      const elsewhere = startRole('worker', { ...env, DATA_DIR: mkdtempSync(join(tmpdir(), 'gc-other-host-')) });
      expect(await exitCodeOf(elsewhere.child)).toBe(1);
      expect(elsewhere.output()).toContain('is not the one the other processes of this installation use');
      expect(elsewhere.output()).toContain('FILE_STORE=s3');
    } finally {
      expect(await stopRole(api)).toBe(0);
    }
  }, 60_000);
});
