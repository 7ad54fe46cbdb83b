import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryCache, redisCache, type Cache } from '../src/infra/cache.js';
import { createChatroomListCache } from '../src/modules/chatrooms/chatroom-list-cache.js';
import { testMode } from './helpers/mode.js';
import { closeRedis, createRedis } from '../src/infra/redis.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { bearer, signIn, type SignedInUser } from './helpers/factories.js';
import { waitUntil } from './helpers/wait.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

interface Room {
  id: string;
  title: string;
  createdAt: string;
  updatedAt: string;
}

const call = (app: TestApp, user: SignedInUser, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown) =>
  app.request({
    method,
    url,
    headers: { ...bearer(user.accessToken), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });

async function createRoom(user: SignedInUser, title?: string): Promise<Room> {
  const res = await call(t, user, 'POST', '/chatroom', title === undefined ? {} : { title });
  expect(res.statusCode).toBe(201);
  return res.json<Room>();
}

describe('chatroom CRUD', () => {
  it('creates a room with the default title, or the one given (trimmed)', async () => {
    const user = await signIn(t);
    const plain = await createRoom(user);
    expect(plain).toMatchObject({ title: 'New chat' });
    expect(plain.createdAt).toBe(plain.updatedAt);
    expect(Object.keys(plain).sort()).toEqual(['createdAt', 'currentMessageId', 'id', 'settings', 'title', 'updatedAt']);
    expect(plain).toMatchObject({ currentMessageId: null, settings: { systemInstruction: null, model: null, temperature: null } });
    expect((await createRoom(user, '  Trip to Goa  ')).title).toBe('Trip to Goa');
    const noBody = await t.request({ method: 'POST', url: '/chatroom', headers: bearer(user.accessToken) });
    expect(noBody.statusCode).toBe(201);
    expect(noBody.json().title).toBe('New chat');
  });

  it('rejects a blank or over-long title with errors[].path = "title"', async () => {
    const user = await signIn(t);
    for (const title of ['   ', 'x'.repeat(121)]) {
      const res = await call(t, user, 'POST', '/chatroom', { title });
      expect(res.statusCode).toBe(400);
      expect(res.json().errors[0].path).toBe('title');
    }
    const list = await call(t, user, 'GET', '/chatroom');
    expect(list.json().items).toEqual([]);
  });

  it('reads one room with its (so far empty) messages', async () => {
    const user = await signIn(t);
    const room = await createRoom(user, 'Reading');
    const res = await call(t, user, 'GET', `/chatroom/${room.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ...room, messages: [], hasMoreMessages: false, tokenTotals: { promptTokens: 0, outputTokens: 0, thoughtsTokens: 0, cachedTokens: 0, totalTokens: 0 } });
  });

  it('renames a room and moves updatedAt', async () => {
    const user = await signIn(t);
    const room = await createRoom(user);
    t.clock.advance(1000);
    const res = await call(t, user, 'PATCH', `/chatroom/${room.id}`, { title: 'Renamed' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: room.id, title: 'Renamed', createdAt: room.createdAt });
    expect(Date.parse(res.json().updatedAt)).toBe(Date.parse(room.createdAt) + 1000);
    expect((await call(t, user, 'PATCH', `/chatroom/${room.id}`, {})).statusCode).toBe(400);
  });

  it('deletes a room: afterwards every route says 404 CHATROOM_NOT_FOUND', async () => {
    const user = await signIn(t);
    const room = await createRoom(user);
    const deleted = await call(t, user, 'DELETE', `/chatroom/${room.id}`);
    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBe('');
    for (const [method, body] of [['GET'], ['PATCH', { title: 'x' }], ['DELETE']] as const) {
      const res = await call(t, user, method, `/chatroom/${room.id}`, body);
      expect(res.statusCode, method).toBe(404);
      expect(res.json().code).toBe('CHATROOM_NOT_FOUND');
    }
  });

  it('answers 404 CHATROOM_NOT_FOUND for a malformed id, never 400 or 500', async () => {
    const user = await signIn(t);
    for (const id of ['not-a-uuid', '123', '00000000-0000-0000-0000-000000000000']) {
      const res = await call(t, user, 'GET', `/chatroom/${id}`);
      expect(res.statusCode, id).toBe(404);
      expect(res.json().code).toBe('CHATROOM_NOT_FOUND');
    }
  });

  it('needs a token on every route', async () => {
    for (const [method, url] of [['GET', '/chatroom'], ['POST', '/chatroom'], ['GET', '/chatroom/x'], ['DELETE', '/chatroom/x']] as const) {
      const res = await t.request({ method, url });
      expect(res.statusCode, `${method} ${url}`).toBe(401);
    }
  });
});

describe('ownership', () => {
  it("answers 404 on every route when user B touches user A's room, and changes nothing", async () => {
    const alice = await signIn(t);
    const bob = await signIn(t);
    const room = await createRoom(alice, "Alice's room");
    for (const [method, body] of [['GET'], ['PATCH', { title: 'pwned' }], ['DELETE']] as const) {
      const res = await call(t, bob, method, `/chatroom/${room.id}`, body);
      expect(res.statusCode, method).toBe(404);
      expect(res.json().code).toBe('CHATROOM_NOT_FOUND');
    }
    const still = await call(t, alice, 'GET', `/chatroom/${room.id}`);
    expect(still.json().title).toBe("Alice's room");
  });

  it("never serves user A's cached list to user B", async () => {
    const alice = await signIn(t);
    const bob = await signIn(t);
    await createRoom(alice, 'secret plans');
    await call(t, alice, 'GET', '/chatroom');
    expect((await call(t, alice, 'GET', '/chatroom')).headers['x-cache']).toBe('HIT');
    const bobs = await call(t, bob, 'GET', '/chatroom');
    expect(bobs.headers['x-cache']).toBe('MISS');
    expect(bobs.json().items).toEqual([]);
  });
});

describe('GET /chatroom cache', () => {
  it('is a MISS, then a HIT; create, rename and delete each make the next list a MISS that shows the change', async () => {
    const user = await signIn(t);
    const first = await createRoom(user, 'first');
    const miss = await call(t, user, 'GET', '/chatroom');
    expect(miss.headers['x-cache']).toBe('MISS');
    const hit = await call(t, user, 'GET', '/chatroom');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.json()).toEqual(miss.json());
    // The cached page is the same JSON, byte for byte, served as JSON.
    expect(hit.body).toBe(miss.body);
    expect(hit.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(miss.json().items[0]).toMatchObject({ id: first.id, title: 'first', currentMessageId: null, settings: { model: null } });

    t.clock.advance(1000);
    const second = await createRoom(user, 'second');
    const afterCreate = await call(t, user, 'GET', '/chatroom');
    expect(afterCreate.headers['x-cache']).toBe('MISS');
    expect(afterCreate.json().items.map((r: Room) => r.title)).toEqual(['second', 'first']);
    expect((await call(t, user, 'GET', '/chatroom')).headers['x-cache']).toBe('HIT');

    await call(t, user, 'PATCH', `/chatroom/${first.id}`, { title: 'first, renamed' });
    const afterRename = await call(t, user, 'GET', '/chatroom');
    expect(afterRename.headers['x-cache']).toBe('MISS');
    expect(afterRename.json().items.map((r: Room) => r.title)).toEqual(['second', 'first, renamed']);

    await call(t, user, 'DELETE', `/chatroom/${second.id}`);
    const afterDelete = await call(t, user, 'GET', '/chatroom');
    expect(afterDelete.headers['x-cache']).toBe('MISS');
    expect(afterDelete.json().items.map((r: Room) => r.id)).toEqual([first.id]);
  });

  it('caches each page on its own: a different limit is its own entry', async () => {
    const user = await signIn(t);
    await createRoom(user);
    expect((await call(t, user, 'GET', '/chatroom?limit=5')).headers['x-cache']).toBe('MISS');
    expect((await call(t, user, 'GET', '/chatroom?limit=6')).headers['x-cache']).toBe('MISS');
    expect((await call(t, user, 'GET', '/chatroom?limit=5')).headers['x-cache']).toBe('HIT');
  });

  it('is off with CHATROOM_CACHE_TTL_SECONDS=0: every list is read from the database', async () => {
    const uncached = await startTestApp({ env: { CHATROOM_CACHE_TTL_SECONDS: '0' } });
    try {
      const user = await signIn(uncached);
      await call(uncached, user, 'POST', '/chatroom', { title: 'listed' });
      for (let i = 0; i < 2; i++) {
        const list = await call(uncached, user, 'GET', '/chatroom');
        expect(list.headers['x-cache']).toBe('MISS');
        expect(list.json().items.map((r: Room) => r.title)).toEqual(['listed']);
      }
    } finally {
      await uncached.close();
    }
  });

  it('never stores a page read before a change as if it were fresh (read → change → store)', async () => {
    const redis = testMode === 'services' ? createRedis({ url: process.env.TEST_REDIS_URL ?? '', keyPrefix: `race-${Date.now()}:` }) : undefined;
    const listCache = createChatroomListCache({
      cache: redis ? redisCache(redis) : memoryCache(),
      ttlSeconds: 60,
      timeoutMs: 1000,
      log: t.container.log,
    });
    try {
      const reader = await listCache.lookup('user-1', '20:');
      expect(reader.hit).toBeUndefined();
      await listCache.invalidate('user-1'); // a chatroom is created while the reader queries the database
      await reader.store(JSON.stringify({ items: ['stale'], nextCursor: null }));
      expect((await listCache.lookup('user-1', '20:')).hit).toBeUndefined();
    } finally {
      if (redis) await closeRedis(redis);
    }
  });

  it('a failed invalidation fails safe: no stale page is served, here or by another instance once the store is back', async () => {
    const store = memoryCache();
    let writesFail = false;
    // A store whose writes fail for a while (a Redis blip): reads still answer.
    const flaky: Cache = {
      kind: 'memory',
      get: (key) => store.get(key),
      getMany: (keys) => store.getMany(keys),
      add: (key, value, ttl) => (writesFail ? Promise.reject(new Error('write failed')) : store.add(key, value, ttl)),
      set: (key, value, ttl) => (writesFail ? Promise.reject(new Error('write failed')) : store.set(key, value, ttl)),
      delete: (key) => (writesFail ? Promise.reject(new Error('write failed')) : store.delete(key)),
    };
    const options = { ttlSeconds: 60, timeoutMs: 1000, log: t.container.log, retryIntervalMs: 10 };
    const here = createChatroomListCache({ cache: flaky, ...options });
    const elsewhere = createChatroomListCache({ cache: store, ...options }); // another api instance, same store

    const oldList = JSON.stringify({ items: ['old list'], nextCursor: null });
    const newList = JSON.stringify({ items: ['new list'], nextCursor: null });
    await (await here.lookup('user-1', '20:')).store(oldList);
    expect((await elsewhere.lookup('user-1', '20:')).hit).toBe(oldList);

    writesFail = true;
    await here.invalidate('user-1'); // a chatroom was created; the new version could not be written
    const during = await here.lookup('user-1', '20:');
    expect(during.hit).toBeUndefined(); // the owner sees the database, not the old list
    await during.store(newList); // and nothing is cached meanwhile
    expect((await here.lookup('user-1', '20:')).hit).toBeUndefined();

    writesFail = false;
    // The background retry writes the new version: the other instance stops serving the old list.
    await waitUntil(async () => (await elsewhere.lookup('user-1', '20:')).hit === undefined, 'the failed invalidation was retried', { intervalMs: 5 });
    await (await here.lookup('user-1', '20:')).store(newList);
    expect((await here.lookup('user-1', '20:')).hit).toBe(newList);
  });

  it('still answers 200 from the database when the cache store is unreachable', async () => {
    const deadRedis = createRedis({ url: 'redis://127.0.0.1:1' });
    deadRedis.on('error', () => undefined);
    const broken = await startTestApp({ overrides: { cache: redisCache(deadRedis) } });
    try {
      const user = await signIn(broken);
      const created = await call(broken, user, 'POST', '/chatroom', { title: 'still works' });
      expect(created.statusCode).toBe(201);
      for (let i = 0; i < 2; i++) {
        const res = await call(broken, user, 'GET', '/chatroom');
        expect(res.statusCode).toBe(200);
        expect(res.headers['x-cache']).toBe('MISS');
        expect(res.json().items.map((r: Room) => r.title)).toEqual(['still works']);
      }
    } finally {
      await broken.close();
      await closeRedis(deadRedis);
    }
  });
});

describe('pagination', () => {
  it('walks every room exactly once, newest first, with a small limit (ties in createdAt included)', async () => {
    const user = await signIn(t);
    const created: Room[] = [];
    for (let i = 0; i < 7; i++) {
      if (i % 2 === 0) t.clock.advance(1000); // pairs share a timestamp: the id breaks the tie
      created.push(await createRoom(user, `room ${i}`));
    }
    const seen: Room[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/chatroom?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await call(t, user, 'GET', url);
      expect(res.statusCode).toBe(200);
      const page = res.json<{ items: Room[]; nextCursor: string | null }>();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items);
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(4);
    expect(seen.map((r) => r.id).sort()).toEqual(created.map((r) => r.id).sort());
    expect(new Set(seen.map((r) => r.id)).size).toBe(7);
    const times = seen.map((r) => Date.parse(r.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it('rejects a bad limit or a forged cursor with 400', async () => {
    const user = await signIn(t);
    for (const query of ['limit=0', 'limit=101', 'limit=abc']) {
      const res = await call(t, user, 'GET', `/chatroom?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().errors[0].path).toBe('limit');
    }
    const forged = await call(t, user, 'GET', '/chatroom?cursor=bm90LWEtY3Vyc29y');
    expect(forged.statusCode).toBe(400);
    expect(forged.json()).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'cursor' }] });
  });

  it('rejects a well-formed cursor whose time PostgreSQL cannot hold with 400, not 500', async () => {
    const user = await signIn(t);
    const id = '00000000-0000-4000-8000-000000000000';
    for (const time of ['0000-01-01T00:00:00Z', '-271821-04-20T00:00:00Z', '+275760-09-13T00:00:00Z', '9999-12-31T23:59:59Z']) {
      const cursor = Buffer.from(JSON.stringify([time, id])).toString('base64url');
      const res = await call(t, user, 'GET', `/chatroom?cursor=${cursor}`);
      if (time.startsWith('9999')) {
        expect(res.statusCode, time).toBe(200); // the far future is a time like any other: an empty page
        continue;
      }
      expect(res.statusCode, time).toBe(400);
      expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'cursor' }] });
    }
  });
});
