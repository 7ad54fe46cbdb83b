import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTimeout } from '../src/infra/deadline.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { signIn } from './helpers/factories.js';
import { createRoom, pollUntilFinished, sendMessage, type Message } from './helpers/messages.js';
import { testMode } from './helpers/mode.js';
import { startTcpProxy, targetOf, type TcpProxy } from './helpers/tcp-proxy.js';
import { waitUntil } from './helpers/wait.js';
import { startFakeGemini, type FakeGemini } from './fakes/gemini-server.js';

/**
 * A shutdown is bounded by SHUTDOWN_GRACE_MS (2 s in tests) plus a few bounded Redis and PostgreSQL
 * closes; a close that takes longer than this hangs.
 */
const CLOSE_BOUND_MS = 20_000;

describe.runIf(testMode === 'services')('Redis going down while a reply streams', () => {
  let gemini: FakeGemini;
  let proxy: TcpProxy;
  let t: TestApp;
  beforeAll(async () => {
    gemini = await startFakeGemini();
    const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
    proxy = await startTcpProxy(targetOf(redisUrl, 6379));
    t = await startTestApp({
      captureLogs: true,
      env: { REDIS_URL: proxy.urlFor(redisUrl), GEMINI_API_KEY: 'test-key', GEMINI_BASE_URL: gemini.url, GENERATION_MAX_ATTEMPTS: '3' },
    });
  });
  afterAll(async () => {
    proxy.restore();
    try {
      await withTimeout(t.close(), CLOSE_BOUND_MS, 'closing the app after the Redis cut');
    } finally {
      await proxy.close();
      await gemini.close();
    }
  }, 60_000);

  it('is a storage failure, not a model failure: one model call, and the reply is stored whole', async () => {
    gemini.enqueue({ kind: 'reply', chunks: ['Redis ', 'went ', 'away ', 'mid-reply'], chunkDelayMs: 150 });
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const { reply } = (await sendMessage(t, user, room, 'keep going', { wait: false })).json<{ reply: Message }>();
    await waitUntil(() => gemini.requests[0]?.chunksSent === 1, 'the first chunk was streamed');
    proxy.cut();
    // The database has the truth; reading it needs no Redis.
    expect(await pollUntilFinished(t, user, room, reply.id)).toMatchObject({ status: 'done', content: 'Redis went away mid-reply', error: null });
    proxy.restore();
    // Let the job finish its bookkeeping on the queue before the app closes.
    await waitUntil(() => t.logs.some((line) => line.includes('"msg":"reply generated"')), 'the job ended');
    await waitUntil(() => t.container.queue.ping().then(() => true, () => false), 'the queue is reachable again');
    expect(gemini.requests).toHaveLength(1);
    const logged = t.logs.join('');
    expect(logged).toContain('REPLY_STREAM_UNAVAILABLE');
    expect(logged).not.toContain('MODEL_NETWORK_ERROR');
  });
});

describe.runIf(testMode === 'services')('closing while Redis is away', () => {
  it('finishes: no connection of the worker waits for Redis to come back', async () => {
    const gemini = await startFakeGemini();
    const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
    const proxy = await startTcpProxy(targetOf(redisUrl, 6379));
    try {
      const t = await startTestApp({ env: { REDIS_URL: proxy.urlFor(redisUrl), GEMINI_API_KEY: 'test-key', GEMINI_BASE_URL: gemini.url } });
      // A reply generated: the worker and its blocking connection are up.
      const user = await signIn(t);
      const room = await createRoom(t, user);
      expect((await sendMessage(t, user, room, 'hello')).json<{ reply: Message }>().reply.status).toBe('done');
      proxy.cut();
      // The worker's connections now wait to reconnect: closing then is what hung (BullMQ waited for an end that never came).
      await waitUntil(() => t.container.queue.ping().then(() => false, () => true), 'the queue is unreachable');
      await withTimeout(t.close(), CLOSE_BOUND_MS, 'closing the app while Redis is away');
    } finally {
      await proxy.close();
      await gemini.close();
    }
  }, 60_000);
});
