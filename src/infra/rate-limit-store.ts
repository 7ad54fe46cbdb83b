import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';

export interface WindowCount {
  /** Hits in the current window, this one included. */
  count: number;
  /** Milliseconds until the window resets. */
  resetInMs: number;
}

/** Fixed-window counters: Redis-backed so all api instances share them, or in-process when embedded. */
export interface RateLimitStore {
  hit(key: string, windowMs: number): Promise<WindowCount>;
}

// INCR and the first PEXPIRE in one script: a crash between them could leave a counter that never expires.
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return { count, redis.call('PTTL', KEYS[1]) }`;

export function redisRateLimitStore(redis: Pick<Redis, 'eval'>): RateLimitStore {
  return {
    async hit(key, windowMs) {
      const [count, ttl] = (await redis.eval(HIT_SCRIPT, 1, `rate-limit:${key}`, windowMs)) as [number, number];
      return { count, resetInMs: ttl > 0 ? ttl : windowMs };
    },
  };
}

export function memoryRateLimitStore(maxKeys = 100_000): RateLimitStore {
  const windows = new LRUCache<string, { count: number; resetAt: number }>({ max: maxKeys });
  return {
    hit(key, windowMs) {
      const now = Date.now();
      const current = windows.get(key);
      const window = current && current.resetAt > now ? current : { count: 0, resetAt: now + windowMs };
      window.count += 1;
      windows.set(key, window);
      return Promise.resolve({ count: window.count, resetInMs: window.resetAt - now });
    },
  };
}
