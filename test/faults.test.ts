import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dailyUsage, stripeEvents, subscriptions } from '../src/infra/db/schema.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { signIn, type SignedInUser } from './helpers/factories.js';
import { createRoom, sendMessage, type Message } from './helpers/messages.js';
import { startFakeGemini, type GeminiStep } from './fakes/gemini-server.js';
import { Redis } from 'ioredis';
import { testMode } from './helpers/mode.js';
import { waitFor } from './helpers/wait.js';
import { WEBHOOK_SECRET, deliverEvent, statusOf, subscribe } from './helpers/stripe.js';
import { checkoutSessionCompletedObject, invoiceObject, stripeEvent } from './fakes/stripe-events.js';
import { startFakeStripe, type FakeStripe } from './fakes/stripe-server.js';

/*
 * Faults from outside, through the public HTTP API only. Stripe retries deliveries, sends them in
 * parallel and in any order: every event must be applied once and the end state be Stripe's.
 */

let stripe: FakeStripe;
let t: TestApp;

beforeAll(async () => {
  stripe = await startFakeStripe();
  t = await startTestApp({
    env: {
      STRIPE_SECRET_KEY: 'sk_test_fake',
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_PRICE_ID: 'price_pro_monthly',
      STRIPE_API_BASE_URL: `http://${stripe.host}:${stripe.port}`,
      STRIPE_MAX_NETWORK_RETRIES: '0',
    },
  });
});
afterAll(async () => {
  await t.close();
  await stripe.close();
});

/**
 * Polls a reply until it is finished, as a client would. Bounded (a stuck reply fails the test), but
 * more patient than the helper's: a chatroom's replies run one at a time, through retries and timeouts.
 */
function finished(app: TestApp, user: SignedInUser, room: string, id: string): Promise<Message> {
  return waitFor(
    async () => {
      const res = await app.request({ method: 'GET', url: `/chatroom/${room}/messages/${id}`, headers: { authorization: `Bearer ${user.accessToken}` } });
      expect(res.statusCode).toBe(200);
      const message = res.json<Message>();
      return message.status === 'done' || message.status === 'failed' ? message : undefined;
    },
    `reply ${id} is finished`,
    { timeoutMs: 120_000, intervalMs: 50 },
  );
}

/** A seeded shuffle, so that a failing order can be replayed. */
function shuffled<T>(items: T[], seed: number): T[] {
  const result = [...items];
  let state = seed;
  for (let i = result.length - 1; i > 0; i--) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    const j = state % (i + 1);
    [result[i], result[j]] = [result[j] as T, result[i] as T];
  }
  return result;
}

describe('webhook deliveries duplicated and shuffled', () => {
  it('applies each of 36 events once when each is delivered 3 times, shuffled, all in parallel', async () => {
    const seed = Date.now() % 2_147_483_647;
    const nowSeconds = Math.floor(t.clock.now().getTime() / 1000);
    const users = [];
    const events: Record<string, unknown>[] = [];
    for (let i = 0; i < 12; i++) {
      const user = await signIn(t);
      await subscribe(t, user);
      const customer = String(stripe.requests.findLast((r) => r.path === '/v1/checkout/sessions')?.params.customer);
      const paying = i % 2 === 0;
      // Stripe's current truth, which the checkout and invoice events make us retrieve.
      const subscription = stripe.putSubscription({ customer, status: paying ? 'active' : 'canceled', priceId: 'price_pro_monthly', metadata: { userId: user.id } });
      const base = nowSeconds - 100;
      events.push(stripeEvent('customer.subscription.created', { ...subscription, status: 'active' }, { created: base }));
      if (paying) {
        events.push(stripeEvent('checkout.session.completed', checkoutSessionCompletedObject({ customer, subscription: subscription.id, clientReferenceId: user.id })));
        events.push(stripeEvent('invoice.paid', invoiceObject({ customer, subscription: subscription.id, status: 'paid' })));
      } else {
        events.push(stripeEvent('customer.subscription.updated', { ...subscription, status: 'active', cancel_at_period_end: true }, { created: base + 10 }));
        events.push(stripeEvent('customer.subscription.deleted', { ...subscription, status: 'canceled' }, { created: base + 20 }));
      }
      users.push({ user, paying });
    }

    const deliveries = shuffled([...events, ...events, ...events], seed);
    const results = await Promise.all(deliveries.map((event) => deliverEvent(t, event)));
    expect(results.map((res) => res.statusCode), `seed ${seed}`).toEqual(deliveries.map(() => 200));
    console.log(`[faults] ${deliveries.length} webhook deliveries (${events.length} events ×3, shuffled, parallel, seed ${seed}): all 200`);

    const recorded = await t.container.database.db.select().from(stripeEvents);
    expect(recorded.map((row) => row.id).sort()).toEqual(events.map((event) => String(event.id)).sort()); // each once
    expect(await t.container.database.db.select().from(subscriptions)).toHaveLength(12);
    for (const { user, paying } of users) {
      expect(await statusOf(t, user), `seed ${seed}`).toMatchObject(paying ? { tier: 'pro', status: 'active' } : { tier: 'basic', status: 'canceled' });
    }
  });
});

describe('a model that fails 30 % of its calls', () => {
  it('200 prompts from 10 users: every reply ends done or failed, failed ones are given back, nobody goes over the allowance', { timeout: 300_000 }, async () => {
    const gemini = await startFakeGemini();
    const app = await startTestApp({
      env: {
        GEMINI_API_KEY: 'test-key',
        GEMINI_BASE_URL: gemini.url,
        // Long enough that a call the fake answers is not timed out by a busy machine (files run four at
        // a time): at 300 ms every call timed out during a full run and no reply ended done.
        GEMINI_TIMEOUT_MS: '1500',
        GENERATION_MAX_ATTEMPTS: '3',
        BASIC_DAILY_LIMIT: '20',
        // Each user's 20 prompts are in flight at once: this test is about faults, not the per-user cap.
        GENERATION_MAX_WAITING_BASIC: '20',
        REPLY_WAIT_MS: '0',
      },
    });
    try {
      const seed = Date.now() % 2_147_483_647;
      // 200 scripted calls, 60 of them failing (429, 500, 503 and timeouts, retried; 6 × 400, which fail
      // the reply at once), shuffled; then the model recovers.
      const failures: GeminiStep[] = Array.from({ length: 60 }, (_, i): GeminiStep => {
        if (i < 6) return { kind: 'error', status: 400 };
        return i % 4 === 3 ? { kind: 'hang' } : { kind: 'error', status: [429, 500, 503][i % 3] ?? 500 };
      });
      const successes: GeminiStep[] = Array.from({ length: 140 }, () => ({ kind: 'reply', chunks: ['fine', ' answer'] }));
      gemini.enqueue(...shuffled([...failures, ...successes], seed));

      const users: SignedInUser[] = [];
      const replies: { user: SignedInUser; room: string; id: string }[] = [];
      for (let u = 0; u < 10; u++) users.push(await signIn(app));
      await Promise.all(
        users.map(async (user) => {
          const rooms = [await createRoom(app, user), await createRoom(app, user)];
          const sent = await Promise.all(
            Array.from({ length: 20 }, (_, i) => sendMessage(app, user, rooms[i % 2] ?? '', `prompt ${i}`, { wait: false })),
          );
          for (const [i, res] of sent.entries()) {
            expect(res.statusCode, res.body).toBe(202);
            replies.push({ user, room: rooms[i % 2] ?? '', id: res.json<{ reply: { id: string } }>().reply.id });
          }
        }),
      );

      const finals: Message[] = [];
      for (const { user, room, id } of replies) finals.push(await finished(app, user, room, id));
      const failed = finals.filter((m) => m.status === 'failed').length;
      console.log(`[faults] 200 prompts, model failing 60 of its first 200 calls (seed ${seed}): ${200 - failed} done, ${failed} failed, ${gemini.requests.length} model calls, 0 stuck`);
      expect(finals.every((m) => m.status === 'done' || m.status === 'failed')).toBe(true);
      expect(failed).toBeGreaterThan(0); // the 400s fail replies outright: giving prompts back is exercised

      for (const user of users) {
        const own = finals.filter((_, i) => replies[i]?.user.id === user.id);
        const [usage] = await app.container.database.db.select().from(dailyUsage).where(eq(dailyUsage.userId, user.id));
        // Each failed reply gave its prompt back; nobody spent more than the limit.
        expect(usage?.used ?? 0).toBe(own.filter((m) => m.status === 'done').length);
        expect(usage?.used ?? 0).toBeLessThanOrEqual(20);
      }
    } finally {
      await app.close();
      await gemini.close();
    }
  });
});

describe.runIf(testMode === 'services')('Redis losing every key of this app with replies queued', () => {
  it('still generates every reply once a worker starts: the database is the truth, the queue is rebuilt', { timeout: 120_000 }, async () => {
    // Ten replies of one user wait at once: lift the per-user cap, which this test is not about.
    const app = await startTestApp({ worker: false, env: { REPLY_WAIT_MS: '0', BASIC_DAILY_LIMIT: '20', GENERATION_MAX_WAITING_BASIC: '20' } });
    const admin = new Redis(process.env.TEST_REDIS_URL ?? '');
    try {
      const user = await signIn(app);
      const rooms = [await createRoom(app, user), await createRoom(app, user)];
      const replies: { room: string; id: string }[] = [];
      for (let i = 0; i < 10; i++) {
        const room = rooms[i % 2] ?? '';
        const res = await sendMessage(app, user, room, `queued ${i}`, { wait: false });
        expect(res.statusCode).toBe(202);
        replies.push({ room, id: res.json<{ reply: { id: string } }>().reply.id });
      }
      // Only this app's keys (its own prefix), never anyone else's: the queue, its jobs, counters, caches.
      const prefix = app.container.redis?.options.keyPrefix ?? '';
      expect(prefix).toMatch(/^test:/);
      let deleted = 0;
      for (let cursor = '0', first = true; first || cursor !== '0'; first = false) {
        const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) deleted += await admin.del(...keys);
      }
      expect(deleted).toBeGreaterThan(0);

      app.container.startWorker(); // its recovery sweep finds the pending replies in PostgreSQL
      const finals = [];
      for (const { room, id } of replies) finals.push(await finished(app, user, room, id));
      console.log(`[faults] ${deleted} Redis keys of the app deleted with 10 replies queued: ${finals.filter((m) => m.status === 'done').length} done`);
      expect(finals.map((m) => m.status)).toEqual(replies.map(() => 'done'));
    } finally {
      admin.disconnect();
      await app.close();
    }
  });
});
