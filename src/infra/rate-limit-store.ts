import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { withTimeout } from './deadline.js';

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

/** `timeoutMs` bounds each hit: a store that does not answer in time fails the hit instead of holding the request. */
export function redisRateLimitStore(redis: Pick<Redis, 'eval'>, timeoutMs: number): RateLimitStore {
  return {
    async hit(key, windowMs) {
      const hit = redis.eval(HIT_SCRIPT, 1, `rate-limit:${key}`, windowMs) as Promise<[number, number]>;
      const [count, ttl] = await withTimeout(hit, timeoutMs, 'the rate-limit store');
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
