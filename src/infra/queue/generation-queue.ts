/** What a job handler learns about its run. */
export interface JobRun {
  /** 1-based. */
  attempt: number;
  maxAttempts: number;
  /** Aborted when the worker shuts down hard. */
  signal: AbortSignal;
}

/**
 * Handles one job. Throwing means "try again later" (with backoff) while attempts remain; the
 * handler itself must settle the job's outcome on its last attempt.
 */
export type JobHandler = (replyId: string, run: JobRun) => Promise<void>;

export interface JobConsumer {
  /** Stops taking jobs and waits for the running ones to finish. */
  close(): Promise<void>;
}

/**
 * The generation queue. A job is only a reply id, and the job id is the reply id, so enqueueing a
 * reply that already has a live job does nothing.
 */
export interface GenerationQueue {
  readonly kind: 'bullmq' | 'in-process';
  enqueue(replyId: string): Promise<void>;
  consume(handler: JobHandler): JobConsumer;
  /** Resolves when the queue's backend answers (for /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
}

/** Exponential backoff with jitter: base·2^(n-1), scaled by a random factor in [0.5, 1). */
export const backoffDelayMs = (attempt: number, baseDelayMs: number) =>
  Math.round(baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2));
