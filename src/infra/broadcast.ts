import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import { withTimeout } from './deadline.js';
import { channelName, type RedisSubscriber } from './redis-subscriber.js';

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

const PUBLISH_TIMEOUT_MS = 1_000;
/** How long a publisher waits for every listening process to confirm; one that takes longer is stuck, and logged. */
const CONFIRM_TIMEOUT_MS = 1_000;

interface Envelope {
  /** Unique per publication; confirmations name it. */
  id: string;
  /** The publishing process's confirmation channel (its Redis name). */
  from: string;
  body: string;
}

/**
 * Redis pub/sub on the process's shared subscriber, which says whether it is `live` and tells of
 * gaps. Each receiver confirms a message on the publisher's own channel once its handlers ran;
 * PUBLISH tells the publisher how many receivers to wait for.
 */
export function redisBroadcast(subscriber: RedisSubscriber, log: FastifyBaseLogger): Broadcast {
  const { redis } = subscriber;
  const confirmations = `broadcast-confirm:${randomUUID()}`;
  const from = channelName(redis, confirmations);
  /** Publications waiting for confirmations: how many came, and how many are expected once PUBLISH says. */
  const pending = new Map<string, { confirmed: number; expected: number; done(): void }>();
  const handlers = new Map<string, Set<(message: string) => void>>();
  let started = false;
  let closed = false;

  const settle = (id: string) => {
    const waiting = pending.get(id);
    if (waiting && waiting.confirmed >= waiting.expected) {
      pending.delete(id);
      waiting.done();
    }
  };

  // On the first subscription or publication: a process that does neither holds no subscriber connection.
  function start() {
    if (started || closed) return;
    started = true;
    subscriber.subscribe(confirmations, (id) => {
      const waiting = pending.get(id);
      if (waiting) waiting.confirmed++;
      settle(id);
    });
  }

  return {
    async publish(channel, body) {
      start();
      const id = randomUUID();
      const message = JSON.stringify({ id, from, body } satisfies Envelope);
      // Just starting (the process's first publication) or reconnecting: wait, within bounds, to hear confirmations.
      await subscriber.untilLive(CONFIRM_TIMEOUT_MS);
      // Still not listening, we cannot hear confirmations; but the others must still be told.
      const hearing = subscriber.live;
      let done = () => undefined as void;
      const confirmed = new Promise<void>((resolve) => (done = resolve));
      if (hearing) pending.set(id, { confirmed: 0, expected: Number.POSITIVE_INFINITY, done });
      try {
        const receivers = await withTimeout(redis.publish(channelName(redis, channel), message), PUBLISH_TIMEOUT_MS, 'the broadcast');
        if (!hearing) return;
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
      start();
      const existing = handlers.get(channel);
      if (existing) {
        existing.add(handler);
        return;
      }
      const channelHandlers = new Set([handler]);
      handlers.set(channel, channelHandlers);
      // One confirmation per process and message, once every handler ran: PUBLISH counted connections.
      subscriber.subscribe(channel, (raw) => {
        let envelope: Envelope;
        try {
          envelope = JSON.parse(raw) as Envelope;
        } catch {
          log.warn({ channel }, 'broadcast message that is not ours; ignored');
          return;
        }
        for (const each of channelHandlers) each(envelope.body);
        redis.publish(envelope.from, envelope.id).catch((error: unknown) => log.warn({ err: error }, 'could not confirm a broadcast message'));
      });
    },
    get live() {
      return subscriber.live;
    },
    onGap: (handler) => subscriber.onGap(handler),
    close() {
      // The subscriber is the process's, closed with it: this only stops listening.
      closed = true;
      for (const channelHandlers of handlers.values()) channelHandlers.clear();
      for (const waiting of pending.values()) waiting.done();
      pending.clear();
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
