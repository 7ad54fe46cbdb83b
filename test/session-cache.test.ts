import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscriptions } from '../src/infra/db/schema.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { bearer, json, signIn, type SignedInUser } from './helpers/factories.js';
import { testMode } from './helpers/mode.js';
import { WEBHOOK_SECRET, expectDelivered } from './helpers/stripe.js';
import { stripeEvent } from './fakes/stripe-events.js';
import { waitUntil } from './helpers/wait.js';

/*
 * Sessions are cached in each api process (README "Authentication"). What a user must never notice:
 * a logout, a password change, a reused refresh token or a plan change that any process handled
 * applies to their very next request on every process.
 */

const me = (t: TestApp, token: string) => t.request({ method: 'GET', url: '/user/me', headers: bearer(token) });
const tierOf = async (t: TestApp, token: string) => {
  const res = await me(t, token);
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ tier: string }>().tier;
};

describe('the cache and the clock (one process)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ worker: false });
  });
  afterAll(() => t.close());

  it('drops a past_due user to Basic the moment the paid period ends, without any event', async () => {
    const user = await signIn(t);
    const periodEnd = new Date(t.clock.now().getTime() + 60_000);
    await t.container.database.db.insert(subscriptions).values({
      stripeSubscriptionId: `sub_${randomUUID()}`,
      userId: user.id,
      stripeCustomerId: 'cus_cache_test',
      status: 'past_due',
      currentPeriodEnd: periodEnd,
      stateAsOf: t.clock.now(),
      updatedAt: t.clock.now(),
    });
    expect(await tierOf(t, user.accessToken)).toBe('pro');
    expect(await tierOf(t, user.accessToken)).toBe('pro'); // from the cache now
    t.clock.advance(60_000);
    expect(await tierOf(t, user.accessToken)).toBe('basic');
  });

});

// Two api processes of one deployment need PostgreSQL and Redis: embedded mode is one process, and
// its same-process behaviour is what the auth tests already cover in both modes.
describe.runIf(testMode === 'services')('two api processes of one deployment', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await startTestApp({ worker: false, env: { STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET } });
    b = await startTestApp({ worker: false, peerOf: a, throughProxies: true, env: { STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET } });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  /** Signed in on A, and known to B's cache. */
  async function cachedOnB(): Promise<SignedInUser> {
    const user = await signIn(a);
    expect((await me(b, user.accessToken)).statusCode).toBe(200);
    expect((await me(b, user.accessToken)).statusCode).toBe(200);
    return user;
  }

  it('a logout on one process ends the session on the other at once', async () => {
    const user = await cachedOnB();
    expect((await a.request({ method: 'POST', url: '/auth/logout', headers: bearer(user.accessToken) })).statusCode).toBe(204);
    expect((await me(b, user.accessToken)).statusCode).toBe(401);
  });

  it('a password change on one process ends the old sessions on the other at once', async () => {
    const user = await cachedOnB();
    const changed = await a.request({
      method: 'POST',
      url: '/auth/change-password',
      headers: { ...bearer(user.accessToken), 'content-type': 'application/json' },
      payload: JSON.stringify({ newPassword: 'a brand new passphrase' }),
    });
    expect(changed.statusCode, changed.body).toBe(200);
    expect((await me(b, user.accessToken)).statusCode).toBe(401);
    expect((await me(b, changed.json<{ accessToken: string }>().accessToken)).statusCode).toBe(200);
  });

  it('a reused refresh token on one process ends the session on the other at once', async () => {
    const user = await cachedOnB();
    const refresh = () => a.request({ method: 'POST', url: '/auth/refresh', ...json({ refreshToken: user.refreshToken }) });
    const rotated = await refresh();
    expect(rotated.statusCode).toBe(200);
    const newAccess = rotated.json<{ accessToken: string }>().accessToken;
    expect((await me(b, newAccess)).statusCode).toBe(200);
    expect((await refresh()).statusCode).toBe(401); // the spent one again: the session is revoked
    expect((await me(b, newAccess)).statusCode).toBe(401);
    expect((await me(b, user.accessToken)).statusCode).toBe(401);
  });

  it('a plan change handled by one process shows on the other at once', async () => {
    const user = await cachedOnB();
    expect(await tierOf(b, user.accessToken)).toBe('basic');
    const subscription = {
      id: `sub_${randomUUID()}`,
      object: 'subscription',
      customer: `cus_${randomUUID()}`,
      status: 'active',
      cancel_at_period_end: false,
      metadata: { userId: user.id },
      items: { data: [{ price: { id: 'price_pro' }, current_period_end: Math.floor(a.clock.now().getTime() / 1000) + 86_400 }] },
    };
    await expectDelivered(a, stripeEvent('customer.subscription.created', subscription));
    expect(await tierOf(b, user.accessToken)).toBe('pro');
    await expectDelivered(a, stripeEvent('customer.subscription.deleted', { ...subscription, status: 'canceled' }));
    expect(await tierOf(b, user.accessToken)).toBe('basic');
  });

  it('stops trusting its cache while it cannot hear the others, and empties it when it hears them again', async () => {
    const proxy = b.services?.redisProxy;
    if (!proxy) throw new Error('b runs through proxies');
    const user = await cachedOnB();
    const other = await cachedOnB();
    proxy.cut();
    // A logout B cannot hear of: B must find it in the database, not serve its copy.
    expect((await a.request({ method: 'POST', url: '/auth/logout', headers: bearer(user.accessToken) })).statusCode).toBe(204);
    await waitUntil(async () => (await me(b, user.accessToken)).statusCode === 401, 'B reads the session from the database');
    proxy.restore();
    // Back on the channel: what it held before the gap is gone, so a logout it missed still counts.
    expect((await a.request({ method: 'POST', url: '/auth/logout', headers: bearer(other.accessToken) })).statusCode).toBe(204);
    await waitUntil(async () => (await b.container.redis?.ping().catch(() => undefined)) === 'PONG', 'B reaches Redis again');
    expect((await me(b, other.accessToken)).statusCode).toBe(401);
    expect((await me(b, user.accessToken)).statusCode).toBe(401);
  });
});
