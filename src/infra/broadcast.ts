import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { withTimeout } from './deadline.js';

/**
 * Messages to every process of the deployment, this one included: Redis pub/sub in production, an
 * emitter embedded. `publish` resolves once every process that was listening has run its handlers
 * (or a bounded wait has passed), so that a change announced before a response is answered is known
 * everywhere by the time the client can act on that response.
 *
 * Delivery is not guaranteed across a lost connection, so a receiver that keeps state on the strength
 * of these messages (a cache) must trust that state only while `live`, and drop it when told of a gap.
 */
export interface Broadcast {
  publish(channel: string, message: string): Promise<void>;
  /** Handlers run for every message published on the channel from now on, in any process. */
  subscribe(channel: string, handler: (message: string) => void): void;
  /** True while messages published anywhere reach this process: subscribed and connected. */
  readonly live: boolean;
  /** Told after each (re)subscription: messages sent while we were not listening are lost. */
  onGap(handler: () => void): void;
  close(): Promise<void>;
}

/** Redis is asked regularly whether the subscriber connection still works: a half-open one delivers nothing and says nothing. */
const HEARTBEAT_MS = 5_000;
const HEARTBEAT_TIMEOUT_MS = 2_000;
const PUBLISH_TIMEOUT_MS = 1_000;
/** How long a publisher waits for every listening process to confirm; one that takes longer is stuck, and logged. */
const CONFIRM_TIMEOUT_MS = 1_000;

interface Envelope {
  /** Unique per publication; confirmations name it. */
  id: string;
  /** The publishing process's confirmation channel. */
  from: string;
  body: string;
}

/**
 * Redis pub/sub: one subscriber connection per process (opened on the first subscription or
 * publication), whatever the number of channels. Each receiver confirms a message on the publisher's
 * own channel once its handlers ran; PUBLISH tells the publisher how many receivers to wait for.
 */
export function redisBroadcast(redis: Redis, log: FastifyBaseLogger): Broadcast {
  // ioredis does not prefix channels: deployments sharing a Redis keep apart by naming them with the prefix.
  const prefix = redis.options.keyPrefix ?? '';
  const confirmations = `${prefix}broadcast-confirm:${randomUUID()}`;
  const handlers = new Map<string, Set<(message: string) => void>>();
  const gapHandlers = new Set<() => void>();
  /** Publications waiting for confirmations: how many came, and how many are expected once PUBLISH says. */
  const pending = new Map<string, { confirmed: number; expected: number; done(): void }>();
  let subscriber: Redis | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let subscribed = false;
  let closed = false;
  /** Publishers waiting for the subscription to come up, so that they can hear confirmations. */
  const subscribedWaiters: (() => void)[] = [];

  const settle = (id: string) => {
    const waiting = pending.get(id);
    if (waiting && waiting.confirmed >= waiting.expected) {
      pending.delete(id);
      waiting.done();
    }
  };

  function receive(channel: string, raw: string) {
    if (channel === confirmations) {
      const waiting = pending.get(raw);
      if (waiting) waiting.confirmed++;
      settle(raw);
      return;
    }
    let envelope: Envelope;
    try {
      envelope = JSON.parse(raw) as Envelope;
    } catch {
      log.warn({ channel }, 'broadcast message that is not ours; ignored');
      return;
    }
    for (const handler of handlers.get(channel.slice(prefix.length)) ?? []) handler(envelope.body);
    redis.publish(envelope.from, envelope.id).catch((error: unknown) => log.warn({ err: error }, 'could not confirm a broadcast message'));
  }

  async function subscribeAll(connection: Redis) {
    try {
      await connection.subscribe(confirmations, ...[...handlers.keys()].map((channel) => `${prefix}${channel}`));
      subscribed = true;
      for (const handler of gapHandlers) handler();
      for (const wake of subscribedWaiters.splice(0)) wake();
    } catch (error) {
      // Reconnection brings us back here ('ready'); until then nobody trusts what we would have heard.
      log.warn({ err: error }, 'broadcast subscription failed; retrying on reconnection');
    }
  }

  function ensureStarted(): Redis {
    if (subscriber) return subscriber;
    // Subscriptions are redone by us on every 'ready', so that the gap is known and announced.
    const connection = redis.duplicate({
      keyPrefix: '',
      connectionName: `${prefix}broadcast-subscriber`,
      autoResubscribe: false,
      enableAutoPipelining: false,
    });
    connection.on('error', (error) => log.warn({ err: error }, 'broadcast subscriber connection error'));
    connection.on('close', () => (subscribed = false));
    connection.on('ready', () => void subscribeAll(connection));
    connection.on('message', receive);
    heartbeat = setInterval(() => {
      if (!subscribed) return;
      withTimeout(connection.ping(), HEARTBEAT_TIMEOUT_MS, 'the broadcast subscriber').catch((error: unknown) => {
        log.warn({ err: error }, 'broadcast subscriber does not answer; reconnecting');
        subscribed = false;
        connection.disconnect(true);
      });
    }, HEARTBEAT_MS);
    heartbeat.unref();
    subscriber = connection;
    return connection;
  }

  return {
    async publish(channel, body) {
      ensureStarted();
      const id = randomUUID();
      const envelope: Envelope = { id, from: confirmations, body };
      if (!subscribed) {
        // Just starting (the process's first publication): wait for the subscription, within bounds.
        await withTimeout(new Promise<void>((resolve) => subscribedWaiters.push(resolve)), CONFIRM_TIMEOUT_MS, 'the broadcast subscription').catch(
          () => undefined,
        );
      }
      // Still not listening: we cannot hear confirmations, but the others must still be told.
      if (!subscribed) {
        await withTimeout(redis.publish(`${prefix}${channel}`, JSON.stringify(envelope)), PUBLISH_TIMEOUT_MS, 'the broadcast');
        return;
      }
      let done = () => undefined as void;
      const confirmed = new Promise<void>((resolve) => (done = resolve));
      pending.set(id, { confirmed: 0, expected: Number.POSITIVE_INFINITY, done });
      try {
        const receivers = await withTimeout(redis.publish(`${prefix}${channel}`, JSON.stringify(envelope)), PUBLISH_TIMEOUT_MS, 'the broadcast');
        const waiting = pending.get(id);
        if (waiting) waiting.expected = receivers;
        settle(id);
        await withTimeout(confirmed, CONFIRM_TIMEOUT_MS, 'every process').catch((error: unknown) =>
          log.warn({ err: error, channel, receivers }, 'a process did not confirm a broadcast message in time'),
        );
      } finally {
        pending.delete(id);
      }
    },
    subscribe(channel, handler) {
      if (closed) return;
      const existing = handlers.get(channel);
      if (existing) {
        existing.add(handler);
        return;
      }
      handlers.set(channel, new Set([handler]));
      const connection = ensureStarted();
      // A new channel on a live connection: heard from its subscription on, nothing to announce.
      if (subscribed) connection.subscribe(`${prefix}${channel}`).catch((error: unknown) => log.warn({ err: error, channel }, 'broadcast subscription failed'));
    },
    get live() {
      return subscribed;
    },
    onGap(handler) {
      gapHandlers.add(handler);
    },
    close() {
      closed = true;
      subscribed = false;
      clearInterval(heartbeat);
      handlers.clear();
      gapHandlers.clear();
      for (const waiting of pending.values()) waiting.done();
      pending.clear();
      for (const wake of subscribedWaiters.splice(0)) wake();
      subscriber?.disconnect();
      subscriber = undefined;
      return Promise.resolve();
    },
  };
}

/** Embedded: one process, so delivery cannot fail. */
export function memoryBroadcast(): Broadcast {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    publish(channel, message) {
      emitter.emit(channel, message);
      return Promise.resolve();
    },
    subscribe(channel, handler) {
      emitter.on(channel, handler);
    },
    live: true,
    onGap: () => undefined,
    close() {
      emitter.removeAllListeners();
      return Promise.resolve();
    },
  };
}
