import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGemini, type FakeGemini } from './fakes/gemini-server.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { signIn } from './helpers/factories.js';
import { createRoom, sendMessage } from './helpers/messages.js';
import { testMode } from './helpers/mode.js';
import { waitFor } from './helpers/wait.js';

const METRICS_TOKEN = 'a-metrics-token-for-tests';

describe(`GET /metrics (${testMode})`, () => {
  let t: TestApp;
  let gemini: FakeGemini;
  beforeAll(async () => {
    gemini = await startFakeGemini();
    t = await startTestApp({ env: { METRICS_TOKEN, GEMINI_API_KEY: 'test-key', GEMINI_BASE_URL: gemini.url } });
  });
  afterAll(async () => {
    await t.close();
    await gemini.close();
  });

  const scrape = async () => {
    const res = await t.request({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    return res.body;
  };

  it('refuses a scraper without the token, or with a wrong one', async () => {
    expect((await t.request({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    const wrong = await t.request({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer not-the-metrics-token' } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('counts requests by route template, generations and model calls by outcome, the queue by state, and webhook deliveries', async () => {
    const user = await signIn(t);
    const room = await createRoom(t, user);
    gemini.enqueue({ kind: 'reply', chunks: ['measured'] });
    expect((await sendMessage(t, user, room, 'count me')).statusCode).toBe(201);
    expect((await t.request({ method: 'POST', url: '/webhook/stripe', headers: { 'content-type': 'application/json' }, payload: '{}' })).statusCode).toBe(400);

    await expect.poll(scrape).toMatch(/generation_duration_seconds_count\{outcome="done",code=""\} 1\b/);
    const text = await scrape();
    expect(text).toMatch(/http_request_duration_seconds_count\{method="POST",route="\/chatroom\/:id\/message",status="201"\} 1\b/);
    expect(text).not.toContain(room); // ids never become label values
    expect(text).toMatch(/generation_duration_seconds_count\{outcome="done",code=""\} 1\b/);
    expect(text).toMatch(/model_call_duration_seconds_count\{outcome="ok"\} 1\b/);
    expect(text).toMatch(/generation_queue_jobs\{state="waiting"\} 0\b/);
    expect(text).toMatch(/stripe_webhook_events_total\{type="unverified",outcome="rejected"\} 1\b/);
    expect(text).toContain('process_resident_memory_bytes');
  });

  it('says which dependencies answer: the database and the queue, and Redis where it is configured', async () => {
    const text = await scrape();
    expect(text).toMatch(/dependency_up\{dependency="database"\} 1\b/);
    expect(text).toMatch(/dependency_up\{dependency="queue"\} 1\b/);
    if (testMode === 'services') expect(text).toMatch(/dependency_up\{dependency="redis"\} 1\b/);
    else expect(text).not.toContain('dependency_up{dependency="redis"}');
  });

  it('times the wait before generation once per reply, not once per attempt', async () => {
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const waitsBefore = Number(/generation_queue_wait_seconds_count (\d+)/.exec(await scrape())?.[1]);
    const callsBefore = gemini.requests.length;
    gemini.enqueue({ kind: 'error', status: 503, message: 'overloaded' });
    gemini.enqueue({ kind: 'reply', chunks: ['second try'] });
    const sent = await sendMessage(t, user, room, 'retried');
    expect(sent.statusCode).toBe(201);
    expect(gemini.requests.length - callsBefore).toBe(2); // a failed attempt, then the one that answered
    expect(await scrape()).toMatch(new RegExp(`generation_queue_wait_seconds_count ${waitsBefore + 1}\\b`));
  });

  it('counts a model failure under its code', async () => {
    const user = await signIn(t);
    const room = await createRoom(t, user);
    gemini.enqueue({ kind: 'error', status: 400, message: 'bad request' });
    expect((await sendMessage(t, user, room, 'rejected')).statusCode).toBe(502);
    // The worker records the attempt just after it tells the waiting request: poll for it.
    await expect.poll(scrape).toMatch(/generation_duration_seconds_count\{outcome="failed",code="MODEL_REJECTED"\} 1\b/);
    expect(await scrape()).toMatch(/model_call_duration_seconds_count\{outcome="MODEL_REJECTED"\} 1\b/);
  });
});

describe(`GET /metrics: replies waiting for a worker (${testMode})`, () => {
  let t: TestApp;
  let gemini: FakeGemini;
  beforeAll(async () => {
    gemini = await startFakeGemini();
    // No worker at first: the reply waits, as it does when every worker is down or busy.
    t = await startTestApp({ worker: false, env: { METRICS_TOKEN, GEMINI_API_KEY: 'test-key', GEMINI_BASE_URL: gemini.url } });
  });
  afterAll(async () => {
    await t.close();
    await gemini.close();
  });

  const scrape = async () => (await t.request({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).body;

  it('reports the unfinished replies and the age of the oldest, and how long a reply waited once a worker took it', async () => {
    expect(await scrape()).toMatch(/replies_oldest_unfinished_age_seconds 0\b/);
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const sent = await t.request({ method: 'POST', url: `/chatroom/${room}/message?wait=false`, headers: { authorization: `Bearer ${user.accessToken}` }, payload: { content: 'anyone there?' } });
    expect(sent.statusCode).toBe(202);
    t.clock.advance(200_000);

    const waiting = await scrape();
    expect(waiting).toMatch(/replies_unfinished\{status="pending"\} 1\b/);
    expect(waiting).toMatch(/replies_unfinished\{status="streaming"\} 0\b/);
    expect(waiting).toMatch(/replies_oldest_unfinished_age_seconds 200\b/);

    t.container.startWorker();
    const done = await waitFor(async () => {
      const text = await scrape();
      return /generation_duration_seconds_count\{outcome="done",code=""\} 1\b/.test(text) ? text : undefined;
    }, 'the reply was generated');
    // 200 s on the clock between the request and the claim: past the 120 s bucket, within 300 s.
    expect(done).toMatch(/generation_queue_wait_seconds_bucket\{le="120"\} 0\b/);
    expect(done).toMatch(/generation_queue_wait_seconds_bucket\{le="300"\} 1\b/);
    expect(done).toMatch(/replies_unfinished\{status="pending"\} 0\b/);
    expect(done).toMatch(/replies_oldest_unfinished_age_seconds 0\b/);
  });
});

describe.runIf(testMode === 'services')('GET /metrics while PostgreSQL or Redis is unreachable (services)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ throughProxies: true, env: { METRICS_TOKEN, DATABASE_CONNECT_TIMEOUT_MS: '1000' } });
  });
  afterAll(async () => {
    await t.close();
  });

  const scrape = async () => {
    const res = await t.request({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.statusCode).toBe(200); // an outage never takes the scrape down with it
    return res.body;
  };
  const proxies = () => t.services as NonNullable<TestApp['services']>;

  it('says Redis and the queue on it are down while Redis is cut, and up again once it is back', async () => {
    expect(await scrape()).toMatch(/dependency_up\{dependency="redis"\} 1\b/);
    proxies().redisProxy.cut();
    try {
      const down = await waitFor(async () => {
        const text = await scrape();
        return /dependency_up\{dependency="redis"\} 0\b/.test(text) ? text : undefined;
      }, 'the scrape says Redis is down');
      expect(down).toMatch(/dependency_up\{dependency="queue"\} 0\b/);
      expect(down).toMatch(/dependency_up\{dependency="database"\} 1\b/);
    } finally {
      proxies().redisProxy.restore();
    }
    await waitFor(async () => ((await scrape()).match(/dependency_up\{dependency="(redis|queue)"\} 1\b/g)?.length === 2 ? true : undefined), 'Redis is up again', {
      timeoutMs: 15_000,
    });
  });

  it('says the database is down, and the reply gauges unknown rather than stale, while PostgreSQL is cut', async () => {
    expect(await scrape()).toMatch(/replies_oldest_unfinished_age_seconds 0\b/);
    proxies().databaseProxy.cut();
    try {
      const text = await scrape();
      expect(text).toMatch(/dependency_up\{dependency="database"\} 0\b/);
      expect(text).toMatch(/^replies_oldest_unfinished_age_seconds nan$/im);
      expect(text).not.toMatch(/replies_unfinished\{/);
    } finally {
      proxies().databaseProxy.restore();
    }
    await waitFor(async () => (/dependency_up\{dependency="database"\} 1\b/.test(await scrape()) ? true : undefined), 'PostgreSQL is up again', { timeoutMs: 15_000 });
  });
});
