import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';

/** A string key-value cache with per-entry TTL: Redis in production, an in-process LRU embedded. */
export interface Cache {
  readonly kind: 'redis' | 'memory';
  get(key: string): Promise<string | undefined>;
  /** Several keys in one round trip, in order. */
  getMany(keys: string[]): Promise<(string | undefined)[]>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  /** Sets the key only if it is absent; true if this call set it. */
  add(key: string, value: string, ttlSeconds: number): Promise<boolean>;
  /** Forgets the key (absent already is fine). */
  delete(key: string): Promise<void>;
}

export function redisCache(redis: Pick<Redis, 'get' | 'mget' | 'set' | 'del'>): Cache {
  return {
    kind: 'redis',
    get: async (key) => (await redis.get(`cache:${key}`)) ?? undefined,
    getMany: async (keys) => (await redis.mget(keys.map((key) => `cache:${key}`))).map((value) => value ?? undefined),
    set: async (key, value, ttlSeconds) => {
      await redis.set(`cache:${key}`, value, 'EX', ttlSeconds);
    },
    add: async (key, value, ttlSeconds) => (await redis.set(`cache:${key}`, value, 'EX', ttlSeconds, 'NX')) === 'OK',
    delete: async (key) => {
      await redis.del(`cache:${key}`);
    },
  };
}

export function memoryCache(maxEntries = 10_000): Cache {
  const entries = new LRUCache<string, string>({ max: maxEntries });
  return {
    kind: 'memory',
    get: (key) => Promise.resolve(entries.get(key)),
    getMany: (keys) => Promise.resolve(keys.map((key) => entries.get(key))),
    set: (key, value, ttlSeconds) => {
      entries.set(key, value, { ttl: ttlSeconds * 1000 });
      return Promise.resolve();
    },
    add: (key, value, ttlSeconds) => {
      if (entries.has(key)) return Promise.resolve(false);
      entries.set(key, value, { ttl: ttlSeconds * 1000 });
      return Promise.resolve(true);
    },
    delete: (key) => {
      entries.delete(key);
      return Promise.resolve();
    },
  };
}

/** A cache that never holds anything (CHATROOM_CACHE_TTL_SECONDS=0): every read is a miss. */
export function disabledCache(): Cache {
  return {
    kind: 'memory',
    get: () => Promise.resolve(undefined),
    getMany: (keys) => Promise.resolve(keys.map(() => undefined)),
    set: () => Promise.resolve(),
    add: () => Promise.resolve(true),
    delete: () => Promise.resolve(),
  };
}
