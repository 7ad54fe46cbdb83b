import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { bearer, signIn, type SignedInUser } from './helpers/factories.js';
import { createRoom, sendMessage } from './helpers/messages.js';
import { WEBHOOK_SECRET, deliverEvent, expectDelivered, statusOf, subscribe } from './helpers/stripe.js';
import { checkoutSessionCompletedObject, invoiceObject, stripeEvent } from './fakes/stripe-events.js';
import { startFakeStripe, type FakeStripe } from './fakes/stripe-server.js';

// The real `stripe` SDK against a local server that answers like the Stripe API.
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
      REPLY_WAIT_MS: '0',
    },
  });
});
afterAll(async () => {
  await t.close();
  await stripe.close();
});
beforeEach(() => stripe.reset());

const nowSeconds = () => Math.floor(t.clock.now().getTime() / 1000);

/** A user who went through checkout: has a Stripe customer, and a subscription object at the fake Stripe. */
async function checkedOut(status: 'active' | 'past_due' | 'incomplete' = 'active', periodEnd = nowSeconds() + 30 * 86_400) {
  const user = await signIn(t);
  const checkout = await subscribe(t, user);
  const customer = String(stripe.requests.findLast((r) => r.path === '/v1/checkout/sessions')?.params.customer);
  const subscription = stripe.putSubscription({ customer, status, priceId: 'price_pro_monthly', currentPeriodEnd: periodEnd, metadata: { userId: user.id } });
  return { user, customer, subscription, checkout };
}

const completedEvent = (user: SignedInUser, customer: string, subscription: string) =>
  stripeEvent('checkout.session.completed', checkoutSessionCompletedObject({ customer, subscription, clientReferenceId: user.id }));

async function spendAllowance(user: SignedInUser, room: string) {
  for (let i = 0; i < 5; i++) expect((await sendMessage(t, user, room, `prompt ${i}`, { wait: false })).statusCode).toBe(202);
}

describe('POST /subscribe/pro', () => {
  it('creates a subscription-mode Checkout Session, and one Stripe customer across two attempts', async () => {
    const user = await signIn(t);
    const first = await subscribe(t, user);
    const second = await subscribe(t, user);
    expect(first.checkoutUrl).toMatch(/^https:\/\/checkout\.stripe\.test\//);
    expect(second.sessionId).not.toBe(first.sessionId);

    expect(stripe.requests.filter((r) => r.method === 'POST' && r.path === '/v1/customers')).toHaveLength(1);
    const sessions = stripe.requests.filter((r) => r.path === '/v1/checkout/sessions');
    expect(sessions).toHaveLength(2);
    expect(sessions[0]?.params.customer).toBe(sessions[1]?.params.customer);
    expect(sessions[0]?.params).toMatchObject({
      mode: 'subscription',
      client_reference_id: user.id,
      line_items: [{ price: 'price_pro_monthly', quantity: '1' }],
      metadata: { userId: user.id },
      subscription_data: { metadata: { userId: user.id } },
    });
  });

  it('answers 409 ALREADY_SUBSCRIBED while the user is Pro', async () => {
    const { user, customer, subscription } = await checkedOut();
    await expectDelivered(t, completedEvent(user, customer, subscription.id));
    const res = await t.request({ method: 'POST', url: '/subscribe/pro', headers: bearer(user.accessToken) });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('ALREADY_SUBSCRIBED');
  });

  it('answers 502 PAYMENT_PROVIDER_ERROR when Stripe fails', async () => {
    const user = await signIn(t);
    stripe.failNext('POST', '/v1/checkout/sessions', 500);
    const res = await t.request({ method: 'POST', url: '/subscribe/pro', headers: bearer(user.accessToken) });
    expect(res.statusCode).toBe(502);
    expect(res.json().code).toBe('PAYMENT_PROVIDER_ERROR');
  });
});

describe('POST /webhook/stripe', () => {
  it('makes the user Pro on checkout completion and lifts the limit mid-day', async () => {
    const { user, customer, subscription } = await checkedOut();
    const room = await createRoom(t, user);
    await spendAllowance(user, room);
    const sixth = await sendMessage(t, user, room, 'sixth', { wait: false });
    expect(sixth.statusCode).toBe(429);
    expect((await statusOf(t, user)).tier).toBe('basic');

    await expectDelivered(t, stripeEvent('customer.subscription.created', subscription));
    await expectDelivered(t, completedEvent(user, customer, subscription.id));

    const status = await statusOf(t, user);
    expect(status).toMatchObject({ tier: 'pro', status: 'active', cancelAtPeriodEnd: false, usage: { used: 5, limit: 1000, remaining: 995 } });
    expect(Date.parse(status.currentPeriodEnd ?? '')).toBeGreaterThan(t.clock.now().getTime());
    const again = await sendMessage(t, user, room, 'sixth, now as Pro', { wait: false });
    expect(again.statusCode).toBe(202);
    expect(again.headers['ratelimit-policy']).toBe('"daily";q=1000;w=86400');
    const me = await t.request({ method: 'GET', url: '/user/me', headers: bearer(user.accessToken) });
    expect(me.json().tier).toBe('pro'); // the same access token: the tier is not frozen in it
  });

  it('applies an event delivered three times once', async () => {
    const { user, customer, subscription } = await checkedOut();
    const event = completedEvent(user, customer, subscription.id);
    for (let i = 0; i < 3; i++) await expectDelivered(t, event);
    expect(stripe.requests.filter((r) => r.method === 'GET' && r.path === `/v1/subscriptions/${subscription.id}`)).toHaveLength(1);
    expect((await statusOf(t, user)).tier).toBe('pro');
  });

  const permutations = <T>(items: T[]): T[][] =>
    items.length <= 1 ? [items] : items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));

  it('ends canceled and Basic for created → updated → deleted delivered in every order', async () => {
    for (const order of permutations([0, 1, 2])) {
      const { user, subscription } = await checkedOut();
      const base = nowSeconds() - 100;
      const events = [
        stripeEvent('customer.subscription.created', { ...subscription, status: 'active' }, { created: base }),
        stripeEvent('customer.subscription.updated', { ...subscription, status: 'active', cancel_at_period_end: true }, { created: base + 10 }),
        stripeEvent('customer.subscription.deleted', { ...subscription, status: 'canceled' }, { created: base + 20 }),
      ];
      for (const index of order) await expectDelivered(t, events[index] as Record<string, unknown>);
      const status = await statusOf(t, user);
      expect({ order, tier: status.tier, status: status.status }).toEqual({ order, tier: 'basic', status: 'canceled' });
    }
  });

  it('ends active for incomplete → active delivered in either order, even within one second', async () => {
    for (const [order, gap] of [
      [[0, 1], 5],
      [[1, 0], 5],
      [[1, 0], 0],
    ] as const) {
      const { user, subscription } = await checkedOut();
      const base = nowSeconds() - 50;
      const events = [
        stripeEvent('customer.subscription.created', { ...subscription, status: 'incomplete' }, { created: base }),
        stripeEvent('customer.subscription.updated', { ...subscription, status: 'active' }, { created: base + gap }),
      ];
      for (const index of order) await expectDelivered(t, events[index] as Record<string, unknown>);
      expect(await statusOf(t, user)).toMatchObject({ tier: 'pro', status: 'active' });
    }
  });

  it('takes a cancellation even when it is older than the state retrieved at checkout', async () => {
    const { user, customer, subscription } = await checkedOut();
    await expectDelivered(t, completedEvent(user, customer, subscription.id)); // retrieved now: active
    await expectDelivered(t, stripeEvent('customer.subscription.deleted', { ...subscription, status: 'canceled' }, { created: nowSeconds() - 5 }));
    expect(await statusOf(t, user)).toMatchObject({ tier: 'basic', status: 'canceled' });
  });

  it('marks a failed renewal past_due: Pro until the paid period ends, then Basic', async () => {
    const periodEnd = nowSeconds() + 3600;
    const { user, customer, subscription } = await checkedOut('active', periodEnd);
    await expectDelivered(t, completedEvent(user, customer, subscription.id));
    stripe.putSubscription({ id: subscription.id, customer, status: 'past_due', currentPeriodEnd: periodEnd, metadata: { userId: user.id } });
    await expectDelivered(t, stripeEvent('invoice.payment_failed', invoiceObject({ customer, subscription: subscription.id, status: 'open' })));
    expect(await statusOf(t, user)).toMatchObject({ tier: 'pro', status: 'past_due' });

    t.clock.advance(3601 * 1000);
    try {
      const refreshed = await t.request({ method: 'POST', url: '/auth/refresh', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ refreshToken: user.refreshToken }) });
      expect(await statusOf(t, { ...user, accessToken: refreshed.json().accessToken })).toMatchObject({ tier: 'basic', status: 'past_due' });
    } finally {
      t.clock.advance(-3601 * 1000);
    }
  });

  it('on deletion makes the user Basic again: the 6th prompt of the day is 429 again', async () => {
    const { user, customer, subscription } = await checkedOut();
    await expectDelivered(t, completedEvent(user, customer, subscription.id));
    const room = await createRoom(t, user);
    await spendAllowance(user, room);
    expect((await sendMessage(t, user, room, 'sixth as Pro', { wait: false })).statusCode).toBe(202);

    await expectDelivered(t, stripeEvent('customer.subscription.deleted', { ...subscription, status: 'canceled' }));
    expect(await statusOf(t, user)).toMatchObject({ tier: 'basic', status: 'canceled' });
    const res = await sendMessage(t, user, room, 'seventh', { wait: false });
    expect(res.statusCode).toBe(429);
    expect(res.json().code).toBe('QUOTA_EXCEEDED');
  });

  it('refuses a tampered body, a wrong secret, a stale timestamp and a missing signature with 400, changing nothing', async () => {
    const { user, customer, subscription } = await checkedOut();
    const event = completedEvent(user, customer, subscription.id);
    const attempts = [
      await deliverEvent(t, event, { body: JSON.stringify(event).replace('"paid"', '"PAID"') }),
      await deliverEvent(t, event, { secret: 'whsec_not_ours' }),
      await deliverEvent(t, event, { timestamp: nowSeconds() - 600 }),
      await t.request({ method: 'POST', url: '/webhook/stripe', payload: JSON.stringify(event), headers: { 'content-type': 'application/json' } }),
    ];
    for (const [i, res] of attempts.entries()) {
      expect(res.statusCode, `attempt ${i}: ${res.body}`).toBe(400);
      expect(res.json().code).toBe('INVALID_SIGNATURE');
    }
    expect(await statusOf(t, user)).toMatchObject({ tier: 'basic', status: 'none' });
    // The refused deliveries were not recorded: the genuine one still applies.
    await expectDelivered(t, event);
    expect((await statusOf(t, user)).tier).toBe('pro');
  });

  it('acknowledges a signed subscription event it cannot read, without changing anything', async () => {
    const { user } = await checkedOut();
    await expectDelivered(t, stripeEvent('customer.subscription.updated', { id: 5, customer: null, status: 'active', metadata: { userId: user.id } }));
    expect((await statusOf(t, user)).tier).toBe('basic');
  });

  it('refuses a signature dated in the future beyond the tolerance, as it refuses a stale one', async () => {
    const { user, customer, subscription } = await checkedOut();
    const event = completedEvent(user, customer, subscription.id);
    for (const timestamp of [nowSeconds() + 3600, nowSeconds() + 301]) {
      const res = await deliverEvent(t, event, { timestamp });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().code).toBe('INVALID_SIGNATURE');
    }
    expect((await statusOf(t, user)).tier).toBe('basic');
    // Within the tolerance either way (clocks drift) it is accepted.
    const res = await deliverEvent(t, event, { timestamp: nowSeconds() + 60 });
    expect(res.statusCode, res.body).toBe(200);
    expect((await statusOf(t, user)).tier).toBe('pro');
  });

  it('acknowledges a signed invoice.paid for a subscription Stripe does not have, on every delivery, changing nothing', async () => {
    const logged = await startTestApp({
      captureLogs: true,
      env: {
        STRIPE_SECRET_KEY: 'sk_test_fake',
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        STRIPE_PRICE_ID: 'price_pro_monthly',
        STRIPE_API_BASE_URL: `http://${stripe.host}:${stripe.port}`,
        STRIPE_MAX_NETWORK_RETRIES: '0',
      },
    });
    try {
      const user = await signIn(logged);
      const event = stripeEvent('invoice.paid', invoiceObject({ customer: 'cus_unknown', subscription: 'sub_does_not_exist', status: 'paid' }));
      for (let delivery = 0; delivery < 2; delivery++) {
        const res = await deliverEvent(logged, event);
        expect(res.statusCode, res.body).toBe(200);
        expect(res.json()).toEqual({ received: true });
      }
      expect((await statusOf(logged, user)).tier).toBe('basic');
      expect(logged.logs.join('')).toContain('sub_does_not_exist');
    } finally {
      await logged.close();
    }
  });

  it('acknowledges and ignores an event type it does not handle', async () => {
    await expectDelivered(t, stripeEvent('customer.updated', { id: 'cus_123', object: 'customer' }));
  });
});

describe('GET /subscription/status and the billing portal', () => {
  it('shows a new user as Basic with no subscription and today\'s usage', async () => {
    const user = await signIn(t);
    const status = await statusOf(t, user);
    expect(status).toEqual({
      tier: 'basic',
      status: 'none',
      currentPeriodEnd: null,
      cancelAtPeriodEnd: false,
      usage: { used: 0, limit: 5, remaining: 5, resetsAt: expect.stringMatching(/T00:00:00\.000Z$/) },
      storage: { usedBytes: 0, limitBytes: 100 * 1024 * 1024 },
    });
  });

  it('opens a portal session for a customer, and refuses one without', async () => {
    const newcomer = await signIn(t);
    const none = await t.request({ method: 'POST', url: '/subscription/portal', headers: bearer(newcomer.accessToken) });
    expect(none.statusCode).toBe(409);
    expect(none.json().code).toBe('NO_BILLING_ACCOUNT');

    const { user, customer } = await checkedOut();
    const res = await t.request({ method: 'POST', url: '/subscription/portal', headers: bearer(user.accessToken) });
    expect(res.statusCode).toBe(201);
    expect(res.json().url).toMatch(/^https:\/\/billing\.stripe\.test\//);
    expect(stripe.requests.find((r) => r.path === '/v1/billing_portal/sessions')?.params.customer).toBe(customer);
  });
});
