import type { FastifyBaseLogger } from 'fastify';
import { clampPriority, JobInterrupted, type GenerationQueue, type JobHandler } from './generation-queue.js';
import type { JobTraceContext, JobTracing } from './job-tracing.js';

type Options = {
  concurrency: number;
  callsPerMinute: number;
  log: FastifyBaseLogger;
  /** Given when tracing is on: each job's runs join the trace of its enqueue. */
  tracing?: JobTracing;
};

/** The queue's name in traces, as BullMQ's is. */
const QUEUE_NAME = 'generation';

interface QueuedJob {
  replyId: string;
  priority: number;
  /** Enqueue order: equal priorities run first in, first out (as in BullMQ). */
  order: number;
  attempt: number;
  /** The trace of the enqueue, when tracing is on. */
  trace?: JobTraceContext;
}

/**
 * The embedded queue: same contract as the BullMQ one (priorities, the handler's verdicts carried
 * out, calls-per-minute limit, hand-back at shutdown), for a single process. Jobs live
 * in memory; if the process dies the recovery sweep finds their replies unfinished in the database
 * and enqueues them again.
 */
export function createInProcessQueue({ concurrency, callsPerMinute, log, tracing }: Options): GenerationQueue {
  const ready: QueuedJob[] = []; // sorted by (priority, order)
  const live = new Map<string, QueuedJob>(); // every job ready, running or waiting to run again
  const startTimes: number[] = []; // for the calls-per-minute limit
  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<void>>();
  let order = 0;
  let handler: JobHandler | undefined;
  let interrupt = new AbortController();
  let closed = false;

  const later = (ms: number, work: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      work();
    }, ms);
    timers.add(timer);
  };

  function makeReady(job: QueuedJob) {
    let index = ready.findIndex((other) => other.priority > job.priority || (other.priority === job.priority && other.order > job.order));
    if (index === -1) index = ready.length;
    ready.splice(index, 0, job);
  }

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
      run(handler, ready.shift() as QueuedJob);
    }
  }

  /** Runs the job again after `delayMs`, behind the jobs of its priority that are ready by then. */
  function again(job: QueuedJob, delayMs: number) {
    job.order = ++order;
    later(delayMs, () => {
      makeReady(job);
      pump();
    });
  }

  function run(handle: JobHandler, job: QueuedJob): void {
    const { signal } = interrupt;
    const runHandler = () => handle(job.replyId, { attempt: job.attempt, signal });
    const settled = (tracing && job.trace ? tracing.processed(QUEUE_NAME, job.replyId, job.trace, runHandler) : runHandler())
      .then((verdict) => {
        switch (verdict.kind) {
          case 'finished':
            live.delete(job.replyId);
            return;
          case 'defer':
            again(job, verdict.delayMs);
            return;
          case 'retry':
            job.attempt += 1;
            again(job, verdict.delayMs);
            return;
        }
      })
      .catch((error: unknown) => {
        if (error instanceof JobInterrupted) {
          // Handed back as it was: the next consumer runs it again as the same attempt.
          makeReady(job);
          return;
        }
        live.delete(job.replyId);
        log.error({ err: error, replyId: job.replyId, attempt: job.attempt }, 'generation job crashed; dropped (the recovery sweep schedules its reply again)');
      })
      .finally(() => {
        running.delete(settled);
        pump();
      });
    running.add(settled);
  }

  return {
    kind: 'in-process',
    enqueue(replyId, { priority }) {
      if (!live.has(replyId)) {
        const job: QueuedJob = { replyId, priority: clampPriority(priority), order: ++order, attempt: 1 };
        if (tracing) job.trace = tracing.enqueued(QUEUE_NAME, replyId);
        live.set(replyId, job);
        makeReady(job);
        pump();
      }
      return Promise.resolve();
    },
    ping: () => (closed ? Promise.reject(new Error('the queue is closed')) : Promise.resolve()),
    depth: () => Promise.resolve({ waiting: ready.length, active: running.size, delayed: Math.max(0, live.size - ready.length - running.size) }),
    consume(jobHandler) {
      handler = jobHandler;
      interrupt = new AbortController();
      pump();
      return {
        async close(graceMs: number) {
          handler = undefined; // stop taking jobs; the ready ones wait for the next consumer
          const timer = setTimeout(() => interrupt.abort(new JobInterrupted('the worker is shutting down')), graceMs);
          try {
            await Promise.allSettled([...running]);
          } finally {
            clearTimeout(timer);
          }
        },
      };
    },
    async close() {
      closed = true;
      handler = undefined;
      interrupt.abort(new JobInterrupted('the queue is closing'));
      for (const timer of timers) clearTimeout(timer);
      await Promise.allSettled([...running]);
    },
  };
}
