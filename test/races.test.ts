import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dailyUsage, messages } from '../src/infra/db/schema.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { bearer, json, signIn } from './helpers/factories.js';
import { createRoom, sendMessage } from './helpers/messages.js';

/*
 * Requests fired at once, as a hostile or buggy client would: each race must end as if the requests
 * had come one by one. Counts are printed for the README's "Reliability and security" figures.
 */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { REPLY_WAIT_MS: '0' } });
});
afterAll(() => t.close());

const countBy = (statuses: number[]) => statuses.reduce<Record<number, number>>((acc, s) => ({ ...acc, [s]: (acc[s] ?? 0) + 1 }), {});

describe('races', () => {
  it('50 parallel sends from a Basic user: exactly the daily limit (5) is accepted and stored', async () => {
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => sendMessage(t, user, room, `parallel ${i}`, { wait: false })));
    const statuses = results.map((res) => res.statusCode);
    console.log(`[races] 50 parallel sends: ${JSON.stringify(countBy(statuses))}`);
    expect(statuses.filter((s) => s === 202)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(45);
    for (const res of results.filter((r) => r.statusCode === 429)) expect(res.json().code).toBe('QUOTA_EXCEEDED');
    const stored = await t.container.database.db.select().from(messages).where(eq(messages.userId, user.id));
    expect(stored.filter((m) => m.role === 'user')).toHaveLength(5);
    expect(stored.filter((m) => m.role === 'model')).toHaveLength(5);
    const [usage] = await t.container.database.db.select().from(dailyUsage).where(eq(dailyUsage.userId, user.id));
    expect(usage?.used).toBe(5);
  });

  it('the same refresh token 20 times in parallel: exactly one new pair, and the reuse ends the session', async () => {
    const user = await signIn(t);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => t.request({ method: 'POST', url: '/auth/refresh', ...json({ refreshToken: user.refreshToken }) })),
    );
    const statuses = results.map((res) => res.statusCode);
    console.log(`[races] 20 parallel refreshes of one token: ${JSON.stringify(countBy(statuses))}`);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(19);
    // Parallel use of one refresh token looks like theft: the session is revoked, the new pair with it
    // (README: client authors refresh one at a time).
    const winner = results.find((res) => res.statusCode === 200)?.json<{ accessToken: string; refreshToken: string }>();
    expect((await t.request({ method: 'GET', url: '/user/me', headers: bearer(winner?.accessToken ?? '') })).statusCode).toBe(401);
    expect((await t.request({ method: 'POST', url: '/auth/refresh', ...json({ refreshToken: winner?.refreshToken }) })).statusCode).toBe(401);
  });

  it('the same Idempotency-Key 10 times in parallel: one message, one prompt spent, every answer names it', async () => {
    const user = await signIn(t);
    const room = await createRoom(t, user);
    const headers = { 'idempotency-key': 'parallel-key-1' };
    const results = await Promise.all(Array.from({ length: 10 }, () => sendMessage(t, user, room, 'only once', { wait: false, headers })));
    const statuses = results.map((res) => res.statusCode);
    console.log(`[races] 10 parallel sends with one Idempotency-Key: ${JSON.stringify(countBy(statuses))}`);
    expect(statuses.every((s) => s === 202)).toBe(true);
    const ids = new Set(results.map((res) => res.json<{ userMessage: { id: string } }>().userMessage.id));
    expect(ids.size).toBe(1);
    const stored = await t.container.database.db.select().from(messages).where(eq(messages.chatroomId, room));
    expect(stored.filter((m) => m.role === 'user')).toHaveLength(1);
    const [usage] = await t.container.database.db.select().from(dailyUsage).where(eq(dailyUsage.userId, user.id));
    expect(usage?.used).toBe(1);
  });
});
