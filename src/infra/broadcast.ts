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

/**
 * Redis is asked every second whether the subscriber connection still works: a half-open one
 * delivers nothing and says nothing. Without an answer for STALE_AFTER_MS the process stops trusting
 * what it heard (`live` is false) and reconnects.
 */
const HEARTBEAT_MS = 1_000;
const STALE_AFTER_MS = 2_500;
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
 *
 * `live` means: the connection is up, answered a PING within STALE_AFTER_MS, and Redis acknowledged
 * the subscription of every channel with a handler (a channel added later included). Anything less
 * and a receiver could be deaf while it believes it hears.
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
  /** Channels (Redis names) whose subscription Redis acknowledged on the current connection. */
  const acknowledged = new Set<string>();
  let lastAnswerAt = 0;
  let closed = false;
  /** Publishers waiting for the subscription to come up, so that they can hear confirmations. */
  const subscribedWaiters = new Set<() => void>();

  const redisName = (channel: string) => `${prefix}${channel}`;
  /** Whether every channel with a handler is acknowledged: worked out when either changes, not per call. */
  let allAcknowledged = false;
  const recount = () => {
    allAcknowledged = acknowledged.has(confirmations) && [...handlers.keys()].every((channel) => acknowledged.has(redisName(channel)));
  };
  const isLive = () => allAcknowledged && subscriber?.status === 'ready' && Date.now() - lastAnswerAt < STALE_AFTER_MS;

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

  /** Subscribes `channels` (Redis names); once acknowledged, whatever was sent before is lost to us: a gap. */
  async function subscribeChannels(connection: Redis, channels: string[]) {
    try {
      await connection.subscribe(...channels);
      if (connection !== subscriber) return; // closed meanwhile
      for (const channel of channels) acknowledged.add(channel);
      recount();
      lastAnswerAt = Date.now();
      for (const handler of gapHandlers) handler();
      if (isLive()) for (const wake of [...subscribedWaiters]) wake();
    } catch (error) {
      // Nobody may believe they hear a channel Redis did not take: start over on a new connection.
      log.warn({ err: error }, 'broadcast subscription failed; reconnecting');
      connection.disconnect(true);
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
    connection.on('close', () => {
      acknowledged.clear();
      recount();
    });
    connection.on('ready', () => void subscribeChannels(connection, [confirmations, ...[...handlers.keys()].map(redisName)]));
    connection.on('message', receive);
    heartbeat = setInterval(() => {
      if (connection.status !== 'ready') return;
      connection.ping().then(
        () => (lastAnswerAt = Date.now()),
        () => undefined, // the staleness check below decides
      );
      if (acknowledged.size > 0 && Date.now() - lastAnswerAt >= STALE_AFTER_MS) {
        log.warn('broadcast subscriber does not answer; reconnecting');
        acknowledged.clear();
        recount();
        connection.disconnect(true);
      }
    }, HEARTBEAT_MS);
    heartbeat.unref();
    subscriber = connection;
    return connection;
  }

  async function untilLive(): Promise<void> {
    if (isLive()) return;
    let wake = () => undefined as void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    subscribedWaiters.add(wake);
    try {
      await withTimeout(woken, CONFIRM_TIMEOUT_MS, 'the broadcast subscription').catch(() => undefined);
    } finally {
      subscribedWaiters.delete(wake);
    }
  }

  return {
    async publish(channel, body) {
      ensureStarted();
      const id = randomUUID();
      const envelope: Envelope = { id, from: confirmations, body };
      // Just starting (the process's first publication) or reconnecting: wait, within bounds, to hear confirmations.
      await untilLive();
      if (!acknowledged.has(confirmations)) {
        // Still not listening: we cannot hear confirmations, but the others must still be told.
        await withTimeout(redis.publish(redisName(channel), JSON.stringify(envelope)), PUBLISH_TIMEOUT_MS, 'the broadcast');
        return;
      }
      let done = () => undefined as void;
      const confirmed = new Promise<void>((resolve) => (done = resolve));
      pending.set(id, { confirmed: 0, expected: Number.POSITIVE_INFINITY, done });
      try {
        const receivers = await withTimeout(redis.publish(redisName(channel), JSON.stringify(envelope)), PUBLISH_TIMEOUT_MS, 'the broadcast');
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
      recount();
      const connection = ensureStarted();
      // Not live for this channel until Redis acknowledges it; a connection not ready yet subscribes it on 'ready'.
      if (connection.status === 'ready') void subscribeChannels(connection, [redisName(channel)]);
    },
    get live() {
      return isLive();
    },
    onGap(handler) {
      gapHandlers.add(handler);
    },
    close() {
      closed = true;
      clearInterval(heartbeat);
      handlers.clear();
      gapHandlers.clear();
      acknowledged.clear();
      recount();
      for (const waiting of pending.values()) waiting.done();
      pending.clear();
      for (const wake of [...subscribedWaiters]) wake();
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
