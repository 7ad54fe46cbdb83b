import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';

/**
 * The process's one Redis pub/sub connection, shared by everything that listens to channels (the
 * session broadcast, the stop signals), and whether what it hears can be trusted.
 *
 * Pub/sub delivers nothing that was published while we were not subscribed, and a half-open
 * connection delivers nothing and says nothing. So a user of this must trust what it heard only while
 * `live`, and make up for what it may have missed when told of a gap: each in its own way (the
 * session cache empties itself, the stop signals read back the recent requests).
 */
export interface RedisSubscriber {
  /** The command connection it was made from: for publishing, and for the keys its users keep. */
  readonly redis: Redis;
  /** `handler` runs for every message on `channel` (named as keys are: the key prefix is added). */
  subscribe(channel: string, handler: (message: string) => void): void;
  /**
   * Connected, every channel with a handler acknowledged by Redis (one added later included), and
   * a PING answered within STALE_AFTER_MS. Anything less and a user could be deaf while it believes it hears.
   */
  readonly live: boolean;
  /** Told after each (re)connection, once its channels are acknowledged again: what was published before is lost to us. */
  onGap(handler: () => void): void;
  /** Resolves once live, or once `timeoutMs` has passed. */
  untilLive(timeoutMs: number): Promise<void>;
  close(): void;
}

/** Redis is asked every second whether the connection still works; without an answer for STALE_AFTER_MS it is dropped and opened again. */
const HEARTBEAT_MS = 1_000;
const STALE_AFTER_MS = 2_500;

/** ioredis prefixes keys, not channels: deployments sharing a Redis keep their channels apart with the same prefix. */
export const channelName = (redis: Redis, channel: string) => `${redis.options.keyPrefix ?? ''}${channel}`;

/** Opens its connection on the first subscription, so that a process that never listens holds none. */
export function createRedisSubscriber(redis: Redis, log: FastifyBaseLogger): RedisSubscriber {
  const handlers = new Map<string, Set<(message: string) => void>>(); // by Redis channel name
  const gapHandlers = new Set<() => void>();
  /** Channels whose subscription Redis acknowledged on the current connection; a subset of `handlers`' keys. */
  const acknowledged = new Set<string>();
  const waiters = new Set<() => void>();
  let connection: Redis | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let lastAnswerAt = 0;
  let closed = false;

  const isLive = () =>
    connection?.status === 'ready' && acknowledged.size === handlers.size && Date.now() - lastAnswerAt < STALE_AFTER_MS;

  /** Subscribes `channels`; after a (re)connection (`afterConnect`), everyone is told of the gap. */
  async function take(channels: string[], afterConnect: boolean) {
    const current = connection;
    if (!current || channels.length === 0) return;
    try {
      await current.subscribe(...channels);
    } catch (error) {
      if (closed) return;
      // Nobody may believe they hear a channel Redis did not take: start over on a new connection.
      log.warn({ err: error }, 'Redis subscription failed; reconnecting');
      current.disconnect(true);
      return;
    }
    if (current !== connection) return; // closed meanwhile
    for (const channel of channels) acknowledged.add(channel);
    lastAnswerAt = Date.now();
    if (afterConnect) for (const handler of gapHandlers) handler();
    if (isLive()) for (const wake of [...waiters]) wake();
  }

  function start(): Redis {
    // Subscriptions are redone by us on every 'ready', so that the gap is known and told.
    const opened = redis.duplicate({ connectionName: channelName(redis, 'subscriber'), autoResubscribe: false, enableAutoPipelining: false });
    opened.on('error', (error) => log.warn({ err: error }, 'Redis subscriber connection error'));
    opened.on('close', () => acknowledged.clear());
    opened.on('ready', () => void take([...handlers.keys()], true));
    opened.on('message', (channel: string, message: string) => {
      for (const handler of handlers.get(channel) ?? []) handler(message);
    });
    heartbeat = setInterval(() => {
      if (opened.status !== 'ready') return;
      if (acknowledged.size > 0 && Date.now() - lastAnswerAt >= STALE_AFTER_MS) {
        log.warn('Redis subscriber does not answer; reconnecting');
        acknowledged.clear();
        opened.disconnect(true);
        return;
      }
      opened.ping().then(
        () => (lastAnswerAt = Date.now()),
        () => undefined, // the staleness check decides
      );
    }, HEARTBEAT_MS);
    heartbeat.unref();
    return opened;
  }

  return {
    redis,
    subscribe(channel, handler) {
      if (closed) return;
      const name = channelName(redis, channel);
      const existing = handlers.get(name);
      if (existing) {
        existing.add(handler);
        return;
      }
      handlers.set(name, new Set([handler]));
      connection ??= start();
      // Not live until Redis acknowledges it; a connection not ready yet subscribes it on 'ready'.
      if (connection.status === 'ready') void take([name], false);
    },
    get live() {
      return isLive();
    },
    onGap(handler) {
      gapHandlers.add(handler);
    },
    untilLive(timeoutMs) {
      if (isLive() || closed) return Promise.resolve();
      return new Promise((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, timeoutMs);
        waiters.add(wake);
      });
    },
    close() {
      closed = true;
      clearInterval(heartbeat);
      handlers.clear();
      gapHandlers.clear();
      acknowledged.clear();
      for (const wake of [...waiters]) wake();
      connection?.disconnect();
      connection = undefined;
    },
  };
}
