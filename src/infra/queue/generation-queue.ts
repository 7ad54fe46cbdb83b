/** What a job handler learns about its run. */
export interface JobRun {
  /** 1-based; a job handed back at shutdown, or deferred, keeps its number. */
  attempt: number;
  /**
   * Aborted when the worker shuts down and its grace has run out: the handler stops its work and
   * throws JobInterrupted, and the job goes back to the queue without counting an attempt.
   */
  signal: AbortSignal;
}

/**
 * What the handler decided about its job; the queue only carries it out, the same way in both
 * drivers (the handler owns the retry policy):
 * - `finished`: the job is done with, whatever became of its reply;
 * - `defer`: it cannot run yet (an earlier reply of its chatroom is unfinished): again after
 *   `delayMs`, as the same attempt;
 * - `retry`: this attempt failed and the policy gives it another: again after `delayMs`, as the next attempt.
 */
export type JobVerdict = { kind: 'finished' } | { kind: 'defer'; delayMs: number } | { kind: 'retry'; delayMs: number };

/**
 * Handles one job. It settles its job with a verdict; it throws JobInterrupted to hand the job back
 * at shutdown. Any other throw is a bug: the queue logs it and drops the job (the recovery sweep
 * finds the reply unfinished and schedules it again).
 */
export type JobHandler = (replyId: string, run: JobRun) => Promise<JobVerdict>;

export const FINISHED: JobVerdict = { kind: 'finished' };

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
