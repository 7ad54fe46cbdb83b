import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { bearer, signIn } from './helpers/factories.js';
import { createRoom, sendMessage } from './helpers/messages.js';
import { statusOf, subscribe } from './helpers/stripe.js';

// No Stripe keys: checkout is a page of this server, and its outcome reaches /webhook/stripe as
// signed Stripe-shaped events, through the same verification and handling as Stripe's.
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { REPLY_WAIT_MS: '0' } });
});
afterAll(() => t.close());

const pathOf = (url: string) => new URL(url).pathname;

describe('simulated checkout', () => {
  it('takes a Basic user past the daily limit: 5 prompts, 429, pay, then a 6th prompt as Pro', async () => {
    const user = await signIn(t);
    const room = await createRoom(t, user);
    for (let i = 0; i < 5; i++) expect((await sendMessage(t, user, room, `p${i}`, { wait: false })).statusCode).toBe(202);
    expect((await sendMessage(t, user, room, 'sixth', { wait: false })).statusCode).toBe(429);

    const { checkoutUrl, sessionId } = await subscribe(t, user);
    expect(pathOf(checkoutUrl)).toBe(`/subscribe/simulated/${sessionId}`);
    const page = await t.request({ method: 'GET', url: pathOf(checkoutUrl) });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('value="paid"');
    expect(page.body).toContain('value="declined"');

    const paid = await t.request({ method: 'POST', url: pathOf(checkoutUrl), headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ outcome: 'paid' }) });
    expect(paid.statusCode).toBe(200);
    expect(paid.json()).toEqual({
      sessionId,
      outcome: 'paid',
      events: ['customer.subscription.created', 'checkout.session.completed', 'invoice.paid'],
    });

    expect(await statusOf(t, user)).toMatchObject({ tier: 'pro', status: 'active', usage: { used: 5, limit: 1000 } });
    expect((await sendMessage(t, user, room, 'sixth, as Pro', { wait: false })).statusCode).toBe(202);

    const twice = await t.request({ method: 'POST', url: pathOf(checkoutUrl), headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ outcome: 'paid' }) });
    expect(twice.statusCode).toBe(409);
    expect(twice.json().code).toBe('CHECKOUT_CLOSED');
  });

  it('a declined payment leaves the user Basic with an incomplete subscription', async () => {
    const user = await signIn(t);
    const { checkoutUrl } = await subscribe(t, user);
    // A browser posts the form url-encoded and gets a page back.
    const declined = await t.request({
      method: 'POST',
      url: pathOf(checkoutUrl),
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      payload: 'outcome=declined',
    });
    expect(declined.statusCode).toBe(200);
    expect(declined.body).toContain('Payment declined');
    expect(await statusOf(t, user)).toMatchObject({ tier: 'basic', status: 'incomplete' });
  });

  it('the simulated portal cancels the subscription: back to Basic', async () => {
    const user = await signIn(t);
    const { checkoutUrl } = await subscribe(t, user);
    await t.request({ method: 'POST', url: pathOf(checkoutUrl), headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ outcome: 'paid' }) });
    const portal = await t.request({ method: 'POST', url: '/subscription/portal', headers: bearer(user.accessToken) });
    expect(portal.statusCode).toBe(201);
    const cancel = await t.request({ method: 'POST', url: pathOf(portal.json().url), headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ action: 'cancel' }) });
    expect(cancel.json()).toEqual({ canceled: 1, events: ['customer.subscription.deleted'] });
    expect(await statusOf(t, user)).toMatchObject({ tier: 'basic', status: 'canceled' });
  });

  it('an unknown portal session is PORTAL_SESSION_NOT_FOUND, the page and its form alike, as an unknown checkout is CHECKOUT_NOT_FOUND', async () => {
    for (const method of ['GET', 'POST'] as const) {
      const missing = await t.request({ method, url: '/subscribe/simulated/portal/bps_sim_nope', ...(method === 'POST' ? { headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'action=cancel' } : {}) });
      expect(missing.statusCode).toBe(404);
      expect(missing.headers['content-type']).toContain('application/problem+json');
      expect(missing.json()).toMatchObject({ code: 'PORTAL_SESSION_NOT_FOUND', detail: "Portal session 'bps_sim_nope' was not found" });
    }
  });

  it('answers 404 for an unknown checkout and 400 for an outcome it does not know', async () => {
    const missing = await t.request({ method: 'GET', url: '/subscribe/simulated/cs_sim_nope' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('CHECKOUT_NOT_FOUND');
    const user = await signIn(t);
    const { checkoutUrl } = await subscribe(t, user);
    const bad = await t.request({ method: 'POST', url: pathOf(checkoutUrl), headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ outcome: 'maybe' }) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].path).toBe('outcome');
  });

  it('a checkout session expires after 24 hours, like Stripe\'s: it can no longer be shown or paid', async () => {
    const user = await signIn(t);
    const { checkoutUrl } = await subscribe(t, user);
    const day = 24 * 3600 * 1000;
    t.clock.advance(day);
    try {
      const page = await t.request({ method: 'GET', url: pathOf(checkoutUrl) });
      expect(page.statusCode).toBe(404);
      expect(page.json().code).toBe('CHECKOUT_NOT_FOUND');
      const paid = await t.request({ method: 'POST', url: pathOf(checkoutUrl), headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ outcome: 'paid' }) });
      expect(paid.statusCode).toBe(404);
    } finally {
      t.clock.advance(-day);
    }
    expect((await statusOf(t, user)).tier).toBe('basic');
  });

  it('limits checkout and portal sessions per user (10 an hour), not per server', async () => {
    const user = await signIn(t);
    for (let i = 0; i < 10; i++) await subscribe(t, user);
    const over = await t.request({ method: 'POST', url: '/subscribe/pro', headers: bearer(user.accessToken) });
    expect(over.statusCode).toBe(429);
    expect(over.json().code).toBe('RATE_LIMITED');
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    const portal = await t.request({ method: 'POST', url: '/subscription/portal', headers: bearer(user.accessToken) });
    expect(portal.statusCode).toBe(429);
    // Another user is not affected.
    await subscribe(t, await signIn(t));
  });

  it('forged events still need the signature: an unsigned "paid" event changes nothing', async () => {
    const user = await signIn(t);
    const res = await t.request({
      method: 'POST',
      url: '/webhook/stripe',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ id: 'evt_forged', type: 'customer.subscription.created', created: 1, data: { object: { id: 'sub_x', customer: 'cus_x', status: 'active', metadata: { userId: user.id } } } }),
    });
    expect(res.statusCode).toBe(400);
    expect((await statusOf(t, user)).tier).toBe('basic');
  });
});
