import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import { channelName, type RedisSubscriber } from './redis-subscriber.js';

/**
 * Stop requests for replies, delivered to every worker process, wherever the reply runs. A request
 * is also remembered for a while, so that a worker picking the reply up a moment later (or after
 * the message was published) still sees it.
 */
export interface StopSignals {
  request(replyId: string): Promise<void>;
  isRequested(replyId: string): Promise<boolean>;
  /**
   * `handler` runs in this process for every request made in any process. Resolves once listening,
   * or after a bounded wait: listening then starts as soon as it can, and hands over what was missed.
   */
  subscribe(handler: (replyId: string) => void): Promise<void>;
  close(): Promise<void>;
}

const REMEMBER_SECONDS = 3600;
const CHANNEL = 'reply-stop';
/** The recent requests by time (ms), read back after a gap. */
const RECENT = 'reply-stops-recent';
/** How long a `subscribe` waits for the subscriber to be live before it lets its caller go on (it keeps trying). */
const SUBSCRIBE_WAIT_MS = 2_000;

/**
 * Redis: a key per request, a sorted set of the recent ones, and pub/sub on one channel through the
 * process's shared subscriber. What was published while the subscriber was deaf is lost to pub/sub,
 * so after each gap the recent requests are read back and handed over again (a handler stops the
 * replies it runs: one it already stopped, or one it does not run, changes nothing).
 */
export function redisStopSignals(subscriber: RedisSubscriber, log: FastifyBaseLogger): StopSignals {
  const { redis } = subscriber;
  const readBack = async (handler: (replyId: string) => void) => {
    try {
      for (const replyId of await redis.zrangebyscore(RECENT, Date.now() - REMEMBER_SECONDS * 1000, '+inf')) handler(replyId);
    } catch (error) {
      log.warn({ err: error }, 'could not read back the stop requests made while not listening');
    }
  };

  return {
    async request(replyId) {
      const now = Date.now();
      // One write on the auto-pipelined connection; any failure fails the request.
      await Promise.all([
        redis.set(`reply-stop:${replyId}`, '1', 'EX', REMEMBER_SECONDS),
        redis.zadd(RECENT, now, replyId),
        redis.zremrangebyscore(RECENT, '-inf', now - REMEMBER_SECONDS * 1000),
        redis.expire(RECENT, REMEMBER_SECONDS),
      ]);
      await redis.publish(channelName(redis, CHANNEL), replyId);
    },
    async isRequested(replyId) {
      return (await redis.exists(`reply-stop:${replyId}`)) === 1;
    },
    async subscribe(handler) {
      subscriber.subscribe(CHANNEL, handler);
      subscriber.onGap(() => void readBack(handler));
      await subscriber.untilLive(SUBSCRIBE_WAIT_MS);
    },
    // The subscriber is the process's, and its handlers go when it closes.
    close: () => Promise.resolve(),
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
