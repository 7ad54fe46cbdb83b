import { Redis } from 'ioredis';

export interface RedisOptions {
  url: string;
  /** Namespaces every key, so that several deployments (or test files) can share one server. */
  keyPrefix?: string;
}

export function createRedis({ url, keyPrefix }: RedisOptions): Redis {
  return new Redis(url, {
    keyPrefix,
    // Fail a command after a short while instead of queueing it forever while Redis is down:
    // callers (cache, rate limits, readiness) decide what a failure means.
    maxRetriesPerRequest: 2,
    connectTimeout: 2_000,
    enableOfflineQueue: true,
    lazyConnect: false,
  });
}

export async function closeRedis(redis: Redis): Promise<void> {
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}
