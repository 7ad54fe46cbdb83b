import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGemini, type FakeGemini } from './fakes/gemini-server.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { signIn } from './helpers/factories.js';
import { createRoom, sendMessage } from './helpers/messages.js';
import { testMode } from './helpers/mode.js';

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
