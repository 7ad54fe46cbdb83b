import type { FastifyBaseLogger } from 'fastify';
import { backoffDelayMs, type GenerationQueue, type JobHandler, type RetryPolicy } from './generation-queue.js';

type Options = RetryPolicy & { concurrency: number; callsPerMinute: number; log: FastifyBaseLogger };

/**
 * The embedded queue: same contract as the BullMQ one, for a single process. Jobs live in memory;
 * if the process dies the recovery sweep finds their replies unfinished in the database and enqueues them again.
 */
export function createInProcessQueue({ concurrency, callsPerMinute, maxAttempts, baseDelayMs, log }: Options): GenerationQueue {
  const ready: string[] = [];
  const attempts = new Map<string, number>(); // every live job (ready, running or waiting to retry) → attempt
  const startTimes: number[] = []; // for the calls-per-minute limit
  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<void>>();
  const shutdown = new AbortController();
  let handler: JobHandler | undefined;
  let closed = false;

  const later = (ms: number, work: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      work();
    }, ms);
    timers.add(timer);
  };

  function pump(): void {
    if (!handler || closed) return;
    while (running.size < concurrency && ready.length > 0) {
      const now = Date.now();
      while (startTimes.length > 0 && (startTimes[0] ?? 0) <= now - 60_000) startTimes.shift();
      if (startTimes.length >= callsPerMinute) {
        later((startTimes[0] ?? now) + 60_000 - now, pump);
        return;
      }
      startTimes.push(now);
      const replyId = ready.shift() as string;
      run(handler, replyId);
    }
  }

  function run(handle: JobHandler, replyId: string): void {
    const attempt = attempts.get(replyId) ?? 1;
    const job = handle(replyId, { attempt, maxAttempts, signal: shutdown.signal })
      .then(() => {
        attempts.delete(replyId);
      })
      .catch((error: unknown) => {
        if (attempt >= maxAttempts || closed) {
          attempts.delete(replyId);
          log.error({ err: error, replyId, attempt }, 'generation job failed for good');
          return;
        }
        attempts.set(replyId, attempt + 1);
        later(backoffDelayMs(attempt, baseDelayMs), () => {
          ready.push(replyId);
          pump();
        });
      })
      .finally(() => {
        running.delete(job);
        pump();
      });
    running.add(job);
  }

  return {
    kind: 'in-process',
    enqueue(replyId) {
      if (!closed && !attempts.has(replyId)) {
        attempts.set(replyId, 1);
        ready.push(replyId);
        pump();
      }
      return Promise.resolve();
    },
    ping: () => (closed ? Promise.reject(new Error('the queue is closed')) : Promise.resolve()),
    consume(jobHandler) {
      handler = jobHandler;
      pump();
      return {
        async close() {
          closed = true;
          for (const timer of timers) clearTimeout(timer);
          await Promise.allSettled([...running]);
        },
      };
    },
    async close() {
      closed = true;
      shutdown.abort();
      for (const timer of timers) clearTimeout(timer);
      await Promise.allSettled([...running]);
    },
  };
}
