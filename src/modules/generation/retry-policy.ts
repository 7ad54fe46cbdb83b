import { ModelError, type ModelErrorCode } from '../../integrations/gemini/model.js';

/**
 * The one home of the generation retry policy: what a failure is, whether it is worth another
 * attempt, how many attempts, and how long to wait between them. The job asks it what to do with a
 * failure and tells the queue its verdict; neither queue driver retries anything on its own.
 */

/** Where a failure came from: told apart in the reply's error code and in the logs. */
export type FailureSource = 'model' | 'storage' | 'internal';

export type FailureCode = ModelErrorCode | 'STORAGE_UNAVAILABLE' | 'GENERATION_FAILED';

export interface Failure {
  source: FailureSource;
  code: FailureCode;
  retryable: boolean;
}

/** Our database or reply stream failed while generating: not the model's fault. */
export class StorageError extends Error {
  override name = 'StorageError';

  constructor(
    readonly store: 'database' | 'reply-stream',
    cause: unknown,
  ) {
    super(`${store} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

// Google asks clients to retry these with backoff; a rejected or blocked request fails the same way again.
const RETRYABLE_MODEL_CODES = new Set<ModelErrorCode>(['MODEL_RATE_LIMITED', 'MODEL_UNAVAILABLE', 'MODEL_TIMEOUT', 'MODEL_NETWORK_ERROR']);

export function classifyFailure(error: unknown): Failure {
  if (error instanceof ModelError) return { source: 'model', code: error.code, retryable: RETRYABLE_MODEL_CODES.has(error.code) };
  // A storage outage is usually brief; another attempt later is the way to keep the reply.
  if (error instanceof StorageError) return { source: 'storage', code: 'STORAGE_UNAVAILABLE', retryable: true };
  return { source: 'internal', code: 'GENERATION_FAILED', retryable: true };
}

export interface RetryPolicy {
  maxAttempts: number;
  /** Delay before attempt `attempt + 1`, after attempt `attempt` failed. */
  delayMs(attempt: number): number;
  /** Whether a failure of attempt `attempt` gets another attempt. */
  retries(failure: Failure, attempt: number): boolean;
}

/** What becomes of a reply whose attempt failed with `error`. */
export type FailureVerdict = { kind: 'retry'; failure: Failure; delayMs: number } | { kind: 'fail'; failure: Failure };

export function decideAfterFailure(policy: RetryPolicy, error: unknown, attempt: number): FailureVerdict {
  const failure = classifyFailure(error);
  return policy.retries(failure, attempt) ? { kind: 'retry', failure, delayMs: policy.delayMs(attempt) } : { kind: 'fail', failure };
}

/** Exponential backoff with jitter: base·2^(n-1), scaled by a random factor in [0.5, 1). */
export function createRetryPolicy({ maxAttempts, baseDelayMs }: { maxAttempts: number; baseDelayMs: number }): RetryPolicy {
  return {
    maxAttempts,
    delayMs: (attempt) => Math.round(baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2)),
    retries: (failure, attempt) => failure.retryable && attempt < maxAttempts,
  };
}
