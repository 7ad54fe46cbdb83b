import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoryBroadcast, type Broadcast } from '../../src/infra/broadcast.js';
import { createLogger } from '../../src/infra/logger.js';
import { failingBroadcast } from './fakes/failing-broadcast.js';
import { createSessionCache, type LiveSession } from '../../src/modules/auth/session-cache.js';
import type { Account } from '../../src/modules/users/user.repository.js';

/*
 * The per-process session cache (README "Authentication"): it may save a database read, never let a
 * logout, a password change or a plan change go unnoticed. Two caches on one broadcast stand for
 * two api processes.
 */

describe('the session cache on its own', () => {
  const log = createLogger('silent');
  const now = new Date('2026-12-01T12:00:00Z');
  const user = { id: randomUUID(), tier: 'basic' } as Account;
  const session = (sessionId = randomUUID()): LiveSession => ({ sessionId, user, validUntil: new Date(now.getTime() + 3600_000) });

  /** A broadcast the test drives: deliveries, liveness and gaps by hand. */
  function fakeBroadcast() {
    const handlers: ((message: string) => void)[] = [];
    const gaps: (() => void)[] = [];
    const broadcast: Broadcast & { deliver(message: string): void; gap(): void; live: boolean } = {
      live: true,
      publish: () => Promise.resolve(),
      subscribe: (_channel, handler) => void handlers.push(handler),
      onGap: (handler) => void gaps.push(handler),
      close: () => Promise.resolve(),
      deliver: (message) => handlers.forEach((handler) => handler(message)),
      gap: () => gaps.forEach((handler) => handler()),
    };
    return broadcast;
  }

  it('keeps an answer until its TTL or its validUntil, whichever comes first', () => {
    const cache = createSessionCache({ broadcast: fakeBroadcast(), ttlMs: 10_000, log });
    const held = session();
    cache.remember(held, cache.epoch(), now);
    expect(cache.lookup(held.sessionId, now)).toMatchObject({ sessionId: held.sessionId });
    expect(cache.lookup(held.sessionId, new Date(now.getTime() + 10_000))).toBeUndefined();

    const shortLived = { ...session(), validUntil: new Date(now.getTime() + 1_000) };
    cache.remember(shortLived, cache.epoch(), now);
    expect(cache.lookup(shortLived.sessionId, new Date(now.getTime() + 999))).toBeDefined();
    expect(cache.lookup(shortLived.sessionId, new Date(now.getTime() + 1_000))).toBeUndefined();
  });

  it('does not keep an answer read while a change was announced (it may predate the change)', () => {
    const broadcast = fakeBroadcast();
    const cache = createSessionCache({ broadcast, ttlMs: 10_000, log });
    cache.lookup('warm-up', now); // subscribes
    const held = session();
    const readEpoch = cache.epoch();
    broadcast.deliver(`s:${randomUUID()}`); // any change, while the database was being read
    cache.remember(held, readEpoch, now);
    expect(cache.lookup(held.sessionId, now)).toBeUndefined();
  });

  it('forgets a session, or every session of a user, when told by any process', () => {
    const broadcast = fakeBroadcast();
    const cache = createSessionCache({ broadcast, ttlMs: 10_000, log });
    const [one, two, someoneElse] = [session(), session(), { ...session(), user: { ...user, id: randomUUID() } }];
    for (const held of [one, two, someoneElse]) cache.remember(held, cache.epoch(), now);
    cache.lookup(one.sessionId, now);
    broadcast.deliver(`s:${one.sessionId}`);
    expect(cache.lookup(one.sessionId, now)).toBeUndefined();
    expect(cache.lookup(two.sessionId, now)).toBeDefined();
    broadcast.deliver(`u:${user.id}`);
    expect(cache.lookup(two.sessionId, now)).toBeUndefined();
    expect(cache.lookup(someoneElse.sessionId, now)).toBeDefined();
  });

  it('serves and keeps nothing while not listening, and empties itself after a gap', () => {
    const broadcast = fakeBroadcast();
    const cache = createSessionCache({ broadcast, ttlMs: 10_000, log });
    const held = session();
    cache.remember(held, cache.epoch(), now);
    cache.lookup(held.sessionId, now);
    broadcast.live = false;
    expect(cache.lookup(held.sessionId, now)).toBeUndefined();
    const later = session();
    cache.remember(later, cache.epoch(), now);
    broadcast.live = true;
    expect(cache.lookup(later.sessionId, now)).toBeUndefined();
    broadcast.gap();
    expect(cache.lookup(held.sessionId, now)).toBeUndefined();
  });

  it('is off with a TTL of 0', () => {
    const cache = createSessionCache({ broadcast: fakeBroadcast(), ttlMs: 0, log });
    const held = session();
    cache.remember(held, cache.epoch(), now);
    expect(cache.lookup(held.sessionId, now)).toBeUndefined();
  });
});

describe('two processes on one broadcast', () => {
  const log = createLogger('silent');
  const now = new Date('2026-12-01T12:00:00Z');
  const alice = { id: randomUUID(), tier: 'basic' } as Account;
  const bob = { id: randomUUID(), tier: 'pro' } as Account;
  const session = (user: Account): LiveSession => ({ sessionId: randomUUID(), user, validUntil: new Date(now.getTime() + 3600_000) });

  function twoProcesses() {
    const broadcast = memoryBroadcast();
    const [a, b] = [createSessionCache({ broadcast, ttlMs: 10_000, log }), createSessionCache({ broadcast, ttlMs: 10_000, log })];
    return { a, b };
  }

  it('a logout handled by one ends the session on the other before the call returns', async () => {
    const { a, b } = twoProcesses();
    const held = session(alice);
    for (const cache of [a, b]) cache.remember(held, cache.epoch(), now);
    expect(b.lookup(held.sessionId, now)).toBeDefined();
    await a.sessionEnded(held.sessionId);
    expect(a.lookup(held.sessionId, now)).toBeUndefined();
    expect(b.lookup(held.sessionId, now)).toBeUndefined();
  });

  it("a plan change handled by one drops every session of that user on the other, and nobody else's", async () => {
    const { a, b } = twoProcesses();
    const [phone, laptop, other] = [session(alice), session(alice), session(bob)];
    b.lookup('warm-up', now); // subscribes, as the first request does
    for (const held of [phone, laptop, other]) b.remember(held, b.epoch(), now);
    await a.accountChanged(alice.id);
    expect(b.lookup(phone.sessionId, now)).toBeUndefined();
    expect(b.lookup(laptop.sessionId, now)).toBeUndefined();
    expect(b.lookup(other.sessionId, now)).toMatchObject({ user: { id: bob.id, tier: 'pro' } });
  });

  it('an answer read on one while the other announced a change is not kept', async () => {
    const { a, b } = twoProcesses();
    b.lookup('warm-up', now); // subscribes, as the first request does
    const held = session(alice);
    const readEpoch = b.epoch();
    await a.accountChanged(alice.id); // lands while b reads the database
    b.remember(held, readEpoch, now);
    expect(b.lookup(held.sessionId, now)).toBeUndefined();
  });

  it('keeps a frozen copy: a caller changing what it got cannot change what the next request sees', () => {
    const { a } = twoProcesses();
    const held = session({ ...alice });
    a.remember(held, a.epoch(), now);
    held.user = { ...held.user, tier: 'pro' };
    const found = a.lookup(held.sessionId, now);
    expect(found?.user.tier).toBe('basic');
    expect(Object.isFrozen(found?.user)).toBe(true);
  });
});

describe('an announcement that cannot be published', () => {
  const now = new Date('2026-12-01T12:00:00Z');

  afterEach(() => {
    vi.useRealTimers();
  });

  function recordingLog() {
    const errors: string[] = [];
    const log = { error: (_fields: unknown, message: string) => errors.push(message) } as unknown as FastifyBaseLogger;
    return { log, errors };
  }

  it('still ends the session here at once, and does not fail the request', async () => {
    const { broadcast } = failingBroadcast();
    const cache = createSessionCache({ broadcast, ttlMs: 10_000, log: recordingLog().log });
    const held = { sessionId: randomUUID(), user: { id: randomUUID(), tier: 'basic' } as Account, validUntil: new Date(now.getTime() + 3600_000) };
    cache.remember(held, cache.epoch(), now);
    await expect(cache.sessionEnded(held.sessionId)).resolves.toBeUndefined();
    expect(cache.lookup(held.sessionId, now)).toBeUndefined();
  });

  it('is tried again every half second, logged once, until it goes through', async () => {
    vi.useFakeTimers({ now });
    const { broadcast, sent, recover } = failingBroadcast();
    const { log, errors } = recordingLog();
    const cache = createSessionCache({ broadcast, ttlMs: 10_000, log });
    await cache.sessionEnded('s1');
    expect(sent).toEqual(['s:s1']);
    await vi.advanceTimersByTimeAsync(500);
    await vi.advanceTimersByTimeAsync(500);
    expect(sent).toEqual(['s:s1', 's:s1', 's:s1']);
    expect(errors).toHaveLength(1);
    recover();
    await vi.advanceTimersByTimeAsync(500);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(sent).toHaveLength(4);
  });

  it('is given up once every copy it covers has aged out (the TTL)', async () => {
    vi.useFakeTimers({ now });
    const { broadcast, sent } = failingBroadcast();
    const cache = createSessionCache({ broadcast, ttlMs: 2_000, log: recordingLog().log });
    await cache.accountChanged('u1');
    await vi.advanceTimersByTimeAsync(2_000);
    const triedWithinTtl = sent.length;
    expect(triedWithinTtl).toBeGreaterThanOrEqual(4);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sent).toHaveLength(triedWithinTtl);
  });
});
