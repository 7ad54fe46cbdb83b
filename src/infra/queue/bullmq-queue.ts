import { DelayedError, Queue, WaitingError, Worker, type Job, type Telemetry } from 'bullmq';
import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';
import { closeRedis, endingOnDisconnect } from '../redis.js';
import { clampPriority, JobInterrupted, type GenerationQueue, type JobHandler } from './generation-queue.js';

type Options = {
  redisUrl: string;
  /** BullMQ keys live under this prefix (it does not support ioredis' keyPrefix). */
  prefix: string;
  concurrency: number;
  callsPerMinute: number;
  log: FastifyBaseLogger;
  /**
   * Given when tracing is on: BullMQ's own telemetry, which carries the trace context in each job
   * (its options, not its data), so that a job's runs join the trace of its enqueue.
   */
  telemetry?: Telemetry;
};

const QUEUE_NAME = 'generation';

/** A job's data: the reply, and which attempt its next run is (absent: the first). */
type JobData = { replyId: string; attempt?: number };
/** How long a closing worker may take, past the jobs' grace, to record what its jobs did in Redis. */
const BOOKKEEPING_BOUND_MS = 5_000;

/** BullMQ on Redis: any number of api processes enqueue, any number of workers consume. */
export function createBullmqQueue({ redisUrl, prefix, concurrency, callsPerMinute, log, telemetry }: Options): GenerationQueue {
  // BullMQ does not close connections it is given: we keep them and close them ourselves.
  const connections: Redis[] = [];
  const connect = (role: 'producer' | 'worker') => {
    // A worker's blocking commands must wait as long as they need (BullMQ requires it). A producer
    // must fail fast instead: a send that cannot enqueue is recovered later, never left hanging.
    // BullMQ's blocking connection is a duplicate of the worker's: it must close even while Redis is away.
    const connection = endingOnDisconnect(new Redis(redisUrl, {
      connectionName: `${prefix}:${role}`,
      ...(role === 'worker' ? { maxRetriesPerRequest: null } : { maxRetriesPerRequest: 1, connectTimeout: 2_000 }),
      }),
    );
    connection.on('error', (error) => log.warn({ err: error }, 'queue redis connection error'));
    connections.push(connection);
    return connection;
  };

  let queue: Queue | undefined;
  let producerConnection: Redis | undefined;
  // The 'error' listener: unheard, a Queue's errors (Redis unreachable) go to stderr on every reconnection attempt.
  const producer = () =>
    (queue ??= new Queue(QUEUE_NAME, {
      connection: (producerConnection = connect('producer')),
      prefix,
      ...(telemetry ? { telemetry } : {}),
      defaultJobOptions: {
        // Finished jobs go at once: the reply row is the record, and a later enqueue of the same
        // reply (the recovery sweep, the next reply of a chatroom) must not meet a leftover job id.
        removeOnComplete: true,
        removeOnFail: true,
      },
    }).on('error', (error) => log.warn({ err: error }, 'generation queue error')));

  const consumers = new Set<{ close(graceMs: number): Promise<void> }>();

  return {
    kind: 'bullmq',
    async enqueue(replyId, { priority }) {
      await producer().add('generate', { replyId }, { jobId: replyId, priority: clampPriority(priority) });
    },
    async depth() {
      const counts = await producer().getJobCounts('waiting', 'prioritized', 'active', 'delayed');
      return { waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0), active: counts.active ?? 0, delayed: counts.delayed ?? 0 };
    },
    async ping() {
      producer();
      await producerConnection?.ping();
    },
    consume(handler: JobHandler) {
      // Fired only when shutdown's grace has run out: the running generations stop and go back.
      const interrupt = new AbortController();
      const processJob = async (job: Job<JobData>, token?: string) => {
        // The attempt travels in the job's data: BullMQ's own retries and backoff are not used, the
        // handler's verdict says what happens (a job enqueued by an older version counts from 1).
        const attempt = job.data.attempt ?? job.attemptsMade + 1;
        let verdict;
        try {
          verdict = await handler(job.data.replyId, { attempt, signal: interrupt.signal });
        } catch (error) {
          if (error instanceof JobInterrupted) {
            await job.moveToWait(token);
            throw new WaitingError();
          }
          log.error({ err: error, replyId: job.data.replyId, attempt }, 'generation job crashed; dropped (the recovery sweep schedules its reply again)');
          return;
        }
        if (verdict.kind === 'finished') return;
        if (verdict.kind === 'retry') await job.updateData({ ...job.data, attempt: attempt + 1 });
        await job.moveToDelayed(Date.now() + verdict.delayMs, token);
        throw new DelayedError(); // tells BullMQ the job moved: neither completed nor failed
      };
      const workerConnection = connect('worker');
      const worker = new Worker<JobData>(QUEUE_NAME, processJob, {
        connection: workerConnection,
        prefix,
        concurrency,
        ...(telemetry ? { telemetry } : {}),
        // Shared by every worker through Redis: a burst of users queues here instead of drawing 429s from Gemini.
        limiter: { max: callsPerMinute, duration: 60_000 },
      });
      worker.on('error', (error) => log.error({ err: error }, 'generation worker error'));
      const consumer = {
        async close(graceMs: number) {
          consumers.delete(consumer);
          const closing = worker.close(); // stops taking jobs, waits for the running ones
          const timer = setTimeout(() => interrupt.abort(new JobInterrupted('the worker is shutting down')), graceMs);
          // A worker still closing once the running jobs had their grace and their bookkeeping its
          // bound waits on Redis, which is away: its commands wait for a reconnection (they must, while
          // it runs). Ending its connection fails them, and the close finishes.
          const giveUp = setTimeout(() => workerConnection.disconnect(), graceMs + BOOKKEEPING_BOUND_MS);
          try {
            await closing;
          } finally {
            clearTimeout(timer);
            clearTimeout(giveUp);
          }
        },
      };
      consumers.add(consumer);
      return consumer;
    },
    async close() {
      await Promise.all([...consumers].map((consumer) => consumer.close(0)));
      await queue?.close();
      await Promise.all(connections.map((connection) => closeRedis(connection)));
    },
  };
}
