import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';

/**
 * Stop requests for replies, delivered to every worker process, wherever the reply runs. A request
 * is also remembered for a while, so that a worker picking the reply up a moment later (or after
 * the message was published) still sees it.
 */
export interface StopSignals {
  request(replyId: string): Promise<void>;
  isRequested(replyId: string): Promise<boolean>;
  /** `handler` runs in this process for every request made in any process. */
  subscribe(handler: (replyId: string) => void): Promise<void>;
  close(): Promise<void>;
}

const REMEMBER_SECONDS = 3600;

/** Redis: a key per request, and pub/sub on one channel (one subscriber connection per process). */
export function redisStopSignals(redis: Redis, log: FastifyBaseLogger): StopSignals {
  const prefix = redis.options.keyPrefix ?? '';
  const channel = `${prefix}reply-stop`; // channels are not prefixed by ioredis
  let subscriber: Redis | undefined;
  const handlers = new Set<(replyId: string) => void>();

  return {
    async request(replyId) {
      await redis.set(`reply-stop:${replyId}`, '1', 'EX', REMEMBER_SECONDS);
      await redis.publish(channel, replyId);
    },
    async isRequested(replyId) {
      return (await redis.exists(`reply-stop:${replyId}`)) === 1;
    },
    async subscribe(handler) {
      handlers.add(handler);
      if (subscriber) return;
      subscriber = redis.duplicate({ keyPrefix: '', connectionName: `${prefix}reply-stop-subscriber`, enableAutoPipelining: false });
      subscriber.on('error', (error) => log.warn({ err: error }, 'stop signal subscriber connection error'));
      subscriber.on('message', (_channel: string, replyId: string) => {
        for (const each of handlers) each(replyId);
      });
      await subscriber.subscribe(channel);
    },
    async close() {
      handlers.clear();
      subscriber?.disconnect();
      subscriber = undefined;
      return Promise.resolve();
    },
  };
}

/** Embedded: one process, so an emitter and a set with expiry. */
export function memoryStopSignals(): StopSignals {
  const requested = new Map<string, number>();
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    request(replyId) {
      const now = Date.now();
      if (requested.size > 10_000) for (const [id, until] of requested) if (until < now) requested.delete(id);
      requested.set(replyId, now + REMEMBER_SECONDS * 1000);
      emitter.emit('stop', replyId);
      return Promise.resolve();
    },
    isRequested(replyId) {
      const until = requested.get(replyId);
      if (until !== undefined && until < Date.now()) requested.delete(replyId);
      return Promise.resolve(until !== undefined && until >= Date.now());
    },
    subscribe(handler) {
      emitter.on('stop', handler);
      return Promise.resolve();
    },
    close() {
      emitter.removeAllListeners();
      return Promise.resolve();
    },
  };
}
