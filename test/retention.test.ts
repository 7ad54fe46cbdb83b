import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotencyKeys, otpCodes, refreshTokens, sessions, stripeEvents, users } from '../src/infra/db/schema.js';
import { retentionPeriods, sweepRetention } from '../src/modules/maintenance/retention.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { bearer, json, sendOtp, signIn, signUp } from './helpers/factories.js';
import { createRoom, sendMessage } from './helpers/messages.js';
import { subscribe } from './helpers/stripe.js';
import { waitUntil } from './helpers/wait.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

let t: TestApp;
beforeAll(async () => {
  // The sweep runs every second here, so that the test can see the worker run it.
  t = await startTestApp({ env: { REPLY_WAIT_MS: '0', RETENTION_INTERVAL_SECONDS: '1' } });
});
afterAll(() => t.close());

async function counts() {
  const { db } = t.container.database;
  return {
    idempotencyKeys: (await db.select().from(idempotencyKeys)).length,
    stripeEvents: (await db.select().from(stripeEvents)).length,
    sessions: (await db.select().from(sessions)).length,
    refreshTokens: (await db.select().from(refreshTokens)).length,
    otpCodes: (await db.select().from(otpCodes)).length,
    users: (await db.select().from(users)).length,
  };
}

describe('retention', () => {
  it('removes each kind of row once it is past use, and nothing sooner', async () => {
    const start = t.clock.now().getTime();
    const user = await signIn(t); // a proved user: one session, its refresh token, a spent signup code
    const refreshed = await t.request({ method: 'POST', url: '/auth/refresh', ...json({ refreshToken: user.refreshToken }) });
    expect(refreshed.statusCode).toBe(200); // the first refresh token is now spent
    const accessToken = refreshed.json<{ accessToken: string }>().accessToken;
    const other = await signIn(t);
    await t.request({ method: 'POST', url: '/auth/logout', headers: bearer(other.accessToken) }); // a revoked session
    await signUp(t); // a number never proved
    await sendOtp(t, user.mobile);
    const room = await createRoom(t, { ...user, accessToken });
    expect((await sendMessage(t, { ...user, accessToken }, room, 'hi', { wait: false, headers: { 'idempotency-key': 'k1' } })).statusCode).toBe(202);
    const { checkoutUrl } = await subscribe(t, { ...user, accessToken });
    await t.request({ method: 'POST', url: new URL(checkoutUrl).pathname, ...json({ outcome: 'paid' }) });

    const before = await counts();
    expect(before).toMatchObject({ idempotencyKeys: 1, sessions: 2, users: 3 });
    expect(before.stripeEvents).toBe(3);
    expect(before.refreshTokens).toBe(3);
    expect(before.otpCodes).toBeGreaterThanOrEqual(3);

    const periods = retentionPeriods(30 * 24 * 3600);
    const sweepAt = (ms: number) => sweepRetention(t.container.database, periods, new Date(start + ms));

    await sweepAt(2 * HOUR); // OTP codes: an hour after they expired
    expect(await counts()).toEqual({ ...before, otpCodes: 0 });

    await sweepAt(25 * HOUR); // idempotency keys: a day
    expect(await counts()).toEqual({ ...before, otpCodes: 0, idempotencyKeys: 0 });

    await sweepAt(4 * DAY); // Stripe retries for up to 3 days: the event ids are still there
    expect((await counts()).stripeEvents).toBe(3);

    await sweepAt(8 * DAY); // the revoked session (and its token), the never-proved number
    expect(await counts()).toEqual({ ...before, otpCodes: 0, idempotencyKeys: 0, sessions: 1, refreshTokens: 2, users: 2 });

    await sweepAt(31 * DAY); // Stripe event ids; the spent refresh token of the live session
    expect(await counts()).toEqual({ ...before, otpCodes: 0, idempotencyKeys: 0, sessions: 1, refreshTokens: 1, users: 2, stripeEvents: 0 });
    // The user's live session still works: nothing in use was removed.
    expect((await t.request({ method: 'GET', url: '/user/me', headers: bearer(accessToken) })).statusCode).toBe(200);
  });

  it('is run periodically by the worker', async () => {
    const { mobile } = await signUp(t);
    await sendOtp(t, mobile);
    const { db } = t.container.database;
    expect((await db.select().from(otpCodes)).length).toBeGreaterThan(0);
    t.clock.advance(2 * HOUR);
    await waitUntil(async () => (await db.select().from(otpCodes)).length === 0, 'the worker ran the retention sweep', { intervalMs: 25 });
  });
});
