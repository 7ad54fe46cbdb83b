import { withTimeout } from './deadline.js';
import { Redis } from 'ioredis';

export interface RedisOptions {
  url: string;
  /** Namespaces every key, so that several deployments (or test files) can share one server. */
  keyPrefix?: string;
}

/*
 * While Redis is down, a command must fail within a bounded time, never wait for the outage to end:
 * callers decide what a failure means (the list cache reads the database, rate limits let the request
 * through, readiness says `down`). The connection itself reconnects forever, so service resumes on
 * its own. Blocking reads on a duplicate of this client (XREAD BLOCK) must block for less than
 * COMMAND_TIMEOUT_MS, which ioredis applies to them as well.
 */
const COMMAND_TIMEOUT_MS = 2_000;
const CONNECT_TIMEOUT_MS = 2_000;
const MAX_RECONNECT_DELAY_MS = 2_000;

export function createRedis({ url, keyPrefix }: RedisOptions): Redis {
  return new Redis(url, {
    keyPrefix,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    // Commands issued while (re)connecting wait in the offline queue for the connection (start-up
    // needs that), but are failed after one more failed reconnection attempt, or by the command timeout.
    enableOfflineQueue: true,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 200, MAX_RECONNECT_DELAY_MS),
    lazyConnect: false,
    // Commands issued in the same tick (many requests' cache reads, a stream append and its expiry)
    // go out in one write: one system call instead of one per command, which under load was a fifth
    // of the api's CPU. Connections that block or subscribe (duplicates) turn it off.
    enableAutoPipelining: true,
  });
}

/** How long a graceful QUIT may take before the connection is simply dropped (a shutdown must not hang on Redis). */
const QUIT_TIMEOUT_MS = 2_000;

export async function closeRedis(redis: Redis): Promise<void> {
  try {
    await withTimeout(redis.quit(), QUIT_TIMEOUT_MS, 'Redis QUIT');
  } catch {
    redis.disconnect();
  }
}
