import { Redis } from 'ioredis';
// ioredis' own handler for a closed connection: what its disconnect() runs for one that never started.
import { closeHandler } from 'ioredis/built/redis/event_handler.js';
import { withTimeout } from './deadline.js';

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

/**
 * Makes `redis` (and its duplicates) end when disconnected while waiting to reconnect.
 *
 * ioredis' disconnect() on a connection in `reconnecting` (its socket gone, a retry timer pending)
 * clears the timer and emits nothing more: the connection never reaches `end`, and the commands
 * queued for the reconnection are never answered. BullMQ's Worker.close() disconnects its blocking
 * connection (a duplicate of the one it is given) and waits for `end`: a worker closed while Redis
 * was away, or before that connection was back, never finished closing, nor did the process's
 * shutdown. Such a connection is closed here as ioredis closes one that never connected: status
 * `end`, queued commands rejected.
 */
export function endingOnDisconnect<T extends Redis>(redis: T): T {
  const disconnect = redis.disconnect.bind(redis);
  redis.disconnect = (reconnect = false) => {
    const waitingToReconnect = !reconnect && redis.status === 'reconnecting';
    disconnect(reconnect);
    if (waitingToReconnect && redis.status === 'reconnecting') closeHandler(redis)();
  };
  const duplicate = redis.duplicate.bind(redis);
  redis.duplicate = (override?: Parameters<T['duplicate']>[0]) => endingOnDisconnect(duplicate(override));
  return redis;
}
