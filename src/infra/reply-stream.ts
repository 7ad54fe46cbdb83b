import { EventEmitter, on } from 'node:events';
import type { Redis } from 'ioredis';

/** What the worker tells readers of a reply while it is generated. */
export type ReplyEvent =
  | { type: 'delta'; text: string }
  /** A new attempt starts over: drop the text received so far. */
  | { type: 'reset' }
  /** The reply is finished (done or failed) and stored: read it from the database. */
  | { type: 'end' };

/**
 * Per-reply event log. A reader gets every event from the start, then live ones, so a client that
 * joins late still sees the whole text. Redis streams in production; in-process embedded.
 */
export interface ReplyStream {
  append(replyId: string, event: ReplyEvent): Promise<void>;
  /** Every event from the first, until `end` or until `signal` aborts. */
  read(replyId: string, signal: AbortSignal): AsyncGenerator<ReplyEvent>;
}

const RETAIN_AFTER_END_SECONDS = 300;

export function redisReplyStream(redis: Redis): ReplyStream {
  const key = (replyId: string) => `reply:${replyId}`;
  return {
    async append(replyId, event) {
      await redis.xadd(key(replyId), 'MAXLEN', '~', '10000', '*', 'e', JSON.stringify(event));
      if (event.type === 'end') await redis.expire(key(replyId), RETAIN_AFTER_END_SECONDS);
    },
    async *read(replyId, signal) {
      if (signal.aborted) return;
      // XREAD BLOCK holds its connection: each reader gets its own, dropped when it stops.
      const reader = redis.duplicate();
      reader.on('error', () => undefined); // failures surface as rejected commands below
      const stop = () => reader.disconnect();
      signal.addEventListener('abort', stop, { once: true });
      try {
        let lastId = '0';
        while (!signal.aborted) {
          const batch = await reader.xread('COUNT', 100, 'BLOCK', 1000, 'STREAMS', key(replyId), lastId);
          for (const [, entries] of batch ?? []) {
            for (const [id, fields] of entries) {
              lastId = id;
              const event = JSON.parse(fields[1] ?? '{}') as ReplyEvent;
              yield event;
              if (event.type === 'end') return;
            }
          }
        }
      } catch (error) {
        if (!signal.aborted) throw error;
      } finally {
        signal.removeEventListener('abort', stop);
        reader.disconnect();
      }
    },
  };
}

export function memoryReplyStream(): ReplyStream {
  const logs = new Map<string, ReplyEvent[]>();
  const appended = new EventEmitter();
  appended.setMaxListeners(0);
  const logOf = (replyId: string) => {
    let log = logs.get(replyId);
    if (!log) logs.set(replyId, (log = []));
    return log;
  };

  return {
    append(replyId, event) {
      logOf(replyId).push(event);
      appended.emit(replyId);
      if (event.type === 'end') setTimeout(() => logs.delete(replyId), RETAIN_AFTER_END_SECONDS * 1000).unref();
      return Promise.resolve();
    },
    async *read(replyId, signal) {
      if (signal.aborted) return;
      const log = logOf(replyId);
      const wakeUps = on(appended, replyId, { signal }); // listening before reading: nothing slips between
      let next = 0;
      try {
        for (;;) {
          while (next < log.length) {
            const event = log[next++] as ReplyEvent;
            yield event;
            if (event.type === 'end') return;
          }
          const woke = await wakeUps.next();
          if (woke.done) return;
        }
      } catch (error) {
        if (!signal.aborted) throw error;
      } finally {
        await wakeUps.return?.();
      }
    },
  };
}
