import { Queue, Worker } from 'bullmq';
import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';
import type { GenerationQueue, JobHandler, RetryPolicy } from './generation-queue.js';

type Options = RetryPolicy & {
  redisUrl: string;
  /** BullMQ keys live under this prefix (it does not support ioredis' keyPrefix). */
  prefix: string;
  concurrency: number;
  callsPerMinute: number;
  log: FastifyBaseLogger;
};

const QUEUE_NAME = 'generation';

/** BullMQ on Redis: any number of api processes enqueue, any number of workers consume. */
export function createBullmqQueue({ redisUrl, prefix, concurrency, callsPerMinute, maxAttempts, baseDelayMs, log }: Options): GenerationQueue {
  // BullMQ does not close connections it is given: we keep them and close them ourselves.
  const connections: Redis[] = [];
  const connect = (role: 'producer' | 'worker') => {
    // A worker's blocking commands must wait as long as they need (BullMQ requires it). A producer
    // must fail fast instead: a send that cannot enqueue is recovered later, never left hanging.
    const connection = new Redis(redisUrl, role === 'worker' ? { maxRetriesPerRequest: null } : { maxRetriesPerRequest: 1, connectTimeout: 2_000 });
    connection.on('error', (error) => log.warn({ err: error }, 'queue redis connection error'));
    connections.push(connection);
    return connection;
  };

  let queue: Queue | undefined;
  let producerConnection: Redis | undefined;
  const producer = () => (queue ??= listenForErrors(createProducer()));
  // Unheard, a Queue's 'error' (Redis unreachable) is printed to stderr by BullMQ on every reconnection attempt.
  const listenForErrors = (created: Queue) => created.on('error', (error) => log.warn({ err: error }, 'generation queue error'));
  const createProducer = () =>
    new Queue(QUEUE_NAME, {
      connection: (producerConnection = connect('producer')),
      prefix,
      defaultJobOptions: {
        attempts: maxAttempts,
        backoff: { type: 'exponential', delay: baseDelayMs, jitter: 0.5 },
        // Completed jobs stay a minute (waitUntilFinished needs them); failed ones go, so that the
        // recovery sweep can enqueue their reply again under the same job id.
        removeOnComplete: { age: 60 },
        removeOnFail: true,
      },
    });

  const workers: Worker[] = [];

  return {
    kind: 'bullmq',
    async enqueue(replyId) {
      await producer().add('generate', { replyId }, { jobId: replyId });
    },
    async ping() {
      producer();
      await producerConnection?.ping();
    },
    consume(handler: JobHandler) {
      const shutdown = new AbortController();
      const worker = new Worker<{ replyId: string }>(
        QUEUE_NAME,
        (job) =>
          handler(job.data.replyId, {
            attempt: job.attemptsMade + 1,
            maxAttempts: job.opts.attempts ?? maxAttempts,
            signal: shutdown.signal,
          }),
        {
          connection: connect('worker'),
          prefix,
          concurrency,
          // Shared by every worker through Redis: a burst of users queues here instead of drawing 429s from Gemini.
          limiter: { max: callsPerMinute, duration: 60_000 },
        },
      );
      worker.on('error', (error) => log.error({ err: error }, 'generation worker error'));
      workers.push(worker);
      return { close: () => worker.close() };
    },
    async close() {
      await Promise.all(workers.map((worker) => worker.close()));
      await queue?.close();
      await Promise.all(connections.map((connection) => connection.quit().catch(() => connection.disconnect())));
    },
  };
}
