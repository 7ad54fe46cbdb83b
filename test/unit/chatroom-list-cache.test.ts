import type { FastifyBaseLogger } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoryCache, type Cache } from '../../src/infra/cache.js';
import { createChatroomListCache } from '../../src/modules/chatrooms/chatroom-list-cache.js';

/*
 * The GET /chatroom page cache (README "Caching"): a user sees their own list, never a list from
 * before their last change; a failing store only costs a database read.
 */

/** memoryCache behind a switch: 'down' rejects every call, 'hung' never answers. */
function switchableCache() {
  const inner = memoryCache();
  let state: 'up' | 'down' | 'hung' = 'up';
  const guard = <R>(call: () => Promise<R>): Promise<R> =>
    state === 'up' ? call() : state === 'down' ? Promise.reject(new Error('ECONNREFUSED')) : new Promise<R>(() => undefined);
  const cache: Cache = {
    kind: 'memory',
    get: (key) => guard(() => inner.get(key)),
    getMany: (keys) => guard(() => inner.getMany(keys)),
    set: (key, value, ttlSeconds) => guard(() => inner.set(key, value, ttlSeconds)),
    add: (key, value, ttlSeconds) => guard(() => inner.add(key, value, ttlSeconds)),
    delete: (key) => guard(() => inner.delete(key)),
  };
  return { cache, set: (next: typeof state) => (state = next) };
}

function recordingLog() {
  const warnings: unknown[] = [];
  return { log: { warn: (fields: unknown) => warnings.push(fields) } as unknown as FastifyBaseLogger, warnings };
}

const page1 = JSON.stringify({ items: [{ id: 'a', title: 'Trip to Goa' }], nextCursor: null });
const page1After = JSON.stringify({ items: [{ id: 'a', title: 'Trip to Goa' }, { id: 'b', title: 'New chat' }], nextCursor: null });

async function cached(lists: ReturnType<typeof createChatroomListCache>, userId: string, page: string, json: string) {
  const lookup = await lists.lookup(userId, page);
  if (lookup.hit === undefined) await lookup.store(json);
  return lookup.hit;
}

describe('the chatroom list cache', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const make = (cache: Cache = memoryCache(), log = recordingLog().log) => createChatroomListCache({ cache, ttlSeconds: 300, timeoutMs: 100, log, retryIntervalMs: 1_000 });

  it('serves a stored page as the exact JSON text it was given', async () => {
    const lists = make();
    expect(await cached(lists, 'alice', 'first', page1)).toBeUndefined();
    expect(await cached(lists, 'alice', 'first', 'ignored')).toBe(page1);
  });

  it("keeps each user's pages, and each page, apart", async () => {
    const lists = make();
    await cached(lists, 'alice', 'first', page1);
    expect((await lists.lookup('bob', 'first')).hit).toBeUndefined();
    expect((await lists.lookup('alice', 'limit=5')).hit).toBeUndefined();
  });

  it("drops every page of the user after a change, and nobody else's", async () => {
    const lists = make();
    await cached(lists, 'alice', 'first', page1);
    await cached(lists, 'alice', 'limit=5', page1);
    await cached(lists, 'bob', 'first', page1);
    await lists.invalidate('alice');
    expect((await lists.lookup('alice', 'first')).hit).toBeUndefined();
    expect((await lists.lookup('alice', 'limit=5')).hit).toBeUndefined();
    expect((await lists.lookup('bob', 'first')).hit).toBe(page1);
  });

  it('never serves a page read before a change that landed while it was being read', async () => {
    const lists = make();
    const before = await lists.lookup('alice', 'first'); // miss: the database is read...
    await lists.invalidate('alice'); // ...while a chatroom is created
    await before.store(page1); // the old list goes under the old version
    expect(await cached(lists, 'alice', 'first', page1After)).toBeUndefined();
    expect(await cached(lists, 'alice', 'first', 'ignored')).toBe(page1After);
  });

  it('reads as a miss, logged, when the store fails; storing then does nothing and throws nothing', async () => {
    const { cache, set } = switchableCache();
    const { log, warnings } = recordingLog();
    const lists = make(cache, log);
    await cached(lists, 'alice', 'first', page1);
    set('down');
    const lookup = await lists.lookup('alice', 'first');
    expect(lookup.hit).toBeUndefined();
    await expect(lookup.store(page1)).resolves.toBeUndefined();
    expect(warnings).toEqual([expect.objectContaining({ operation: 'get', cache: 'memory' })]);
  });

  it('reads as a miss when the store does not answer within its timeout', async () => {
    vi.useFakeTimers();
    const { cache, set } = switchableCache();
    const lists = make(cache);
    set('hung');
    const lookup = lists.lookup('alice', 'first');
    await vi.advanceTimersByTimeAsync(100);
    expect((await lookup).hit).toBeUndefined();
  });

  it('serves no page of a user whose change could not be announced, until an invalidation goes through', async () => {
    vi.useFakeTimers();
    const { cache, set } = switchableCache();
    const lists = make(cache);
    await cached(lists, 'alice', 'first', page1);
    set('down');
    await expect(lists.invalidate('alice')).resolves.toBeUndefined(); // never throws
    set('up'); // the store is back, but the stale page is still in it
    // The next lookup retries the invalidation first: the old page is not served.
    expect(await cached(lists, 'alice', 'first', page1After)).toBeUndefined();
    expect(await cached(lists, 'alice', 'first', 'ignored')).toBe(page1After);
  });

  it('retries a failed invalidation in the background, so other processes sharing the store stop serving the stale page', async () => {
    vi.useFakeTimers();
    const { cache, set } = switchableCache();
    const here = make(cache);
    const elsewhere = make(cache); // another api process on the same store
    await cached(elsewhere, 'alice', 'first', page1);
    set('down');
    await here.invalidate('alice');
    await vi.advanceTimersByTimeAsync(1_000); // still down: tried and failed
    set('up');
    await vi.advanceTimersByTimeAsync(1_000);
    expect((await elsewhere.lookup('alice', 'first')).hit).toBeUndefined();
  });
});
