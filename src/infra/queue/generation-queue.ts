/** What a job handler learns about its run. */
export interface JobRun {
  /** 1-based; a job handed back at shutdown keeps its number. */
  attempt: number;
  maxAttempts: number;
  /**
   * Aborted when the worker shuts down and its grace has run out: the handler stops its work and
   * throws JobInterrupted, and the job goes back to the queue without counting an attempt.
   */
  signal: AbortSignal;
}

/** A job that cannot run yet (an earlier reply of its chatroom is unfinished): try again after `delayMs`, no attempt counted. */
export interface JobDeferred {
  deferMs: number;
}

/**
 * Handles one job. Throwing means "try again later" (with the retry policy's backoff) while
 * attempts remain; the handler itself must settle the job's outcome on its last attempt.
 */
export type JobHandler = (replyId: string, run: JobRun) => Promise<JobDeferred | undefined>;

/** Thrown by a handler whose run was interrupted by shutdown: the job is handed back, not failed. */
export class JobInterrupted extends Error {
  override name = 'JobInterrupted';
}

export interface JobConsumer {
  /**
   * Stops taking jobs, lets running ones finish for `graceMs`, then aborts the rest (their
   * `run.signal`) and hands their jobs back to the queue without counting an attempt.
   */
  close(graceMs: number): Promise<void>;
}

export interface EnqueueOptions {
  /** Lower runs first (1 = first); equal priorities run in the order enqueued. */
  priority: number;
}

/** When and how often a failed job runs again; the generation module owns the policy. */
export interface RetrySchedule {
  maxAttempts: number;
  /** Delay before attempt `attempt + 1`, after attempt `attempt` failed. */
  delayMs(attempt: number): number;
}

/**
 * The generation queue. A job is only a reply id, and the job id is the reply id, so enqueueing a
 * reply that already has a live job does nothing.
 */
export interface GenerationQueue {
  readonly kind: 'bullmq' | 'in-process';
  enqueue(replyId: string, options: EnqueueOptions): Promise<void>;
  consume(handler: JobHandler): JobConsumer;
  /** Resolves when the queue's backend answers (for /readyz). */
  ping(): Promise<void>;
  /** Jobs by state, for the queue depth metric. */
  depth(): Promise<QueueDepth>;
  close(): Promise<void>;
}

export interface QueueDepth {
  /** Ready to run, waiting for a worker slot or the model budget. */
  waiting: number;
  active: number;
  /** Waiting out a retry backoff or a deferral. */
  delayed: number;
}

/** BullMQ priorities run from 1 to 2^21 - 1. */
export const clampPriority = (priority: number) => Math.min(2_097_151, Math.max(1, Math.round(priority)));
