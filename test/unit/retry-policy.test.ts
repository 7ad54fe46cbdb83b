import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ModelError, type ModelErrorCode } from '../../src/integrations/gemini/model.js';
import { classifyFailure, createRetryPolicy, StorageError, type Failure } from '../../src/modules/generation/retry-policy.js';

/*
 * What a failed reply does next (README "Failures and retries"): a passing outage of the model or of
 * our own storage is retried with growing pauses; a refusal is final at once.
 */

describe('classifying a failure', () => {
  // Google asks clients to retry these with backoff.
  it.each<ModelErrorCode>(['MODEL_RATE_LIMITED', 'MODEL_UNAVAILABLE', 'MODEL_TIMEOUT', 'MODEL_NETWORK_ERROR'])(
    'a model %s is the model’s, under its own code, and retryable',
    (code) => {
      expect(classifyFailure(new ModelError(code, 'boom', 503))).toEqual({ source: 'model', code, retryable: true });
    },
  );

  // The same request is refused or blocked the same way again: retrying only spends quota.
  it.each<ModelErrorCode>(['MODEL_REJECTED', 'PROMPT_BLOCKED', 'RESPONSE_BLOCKED'])('a model %s is final', (code) => {
    expect(classifyFailure(new ModelError(code, 'no', 400))).toEqual({ source: 'model', code, retryable: false });
  });

  it('an outage of our database or reply stream is STORAGE_UNAVAILABLE and retryable, not blamed on the model', () => {
    for (const store of ['database', 'reply-stream'] as const) {
      expect(classifyFailure(new StorageError(store, new Error('Connection terminated')))).toEqual({
        source: 'storage',
        code: 'STORAGE_UNAVAILABLE',
        retryable: true,
      });
    }
  });

  it('anything else is our own GENERATION_FAILED, retried in case it was passing', () => {
    for (const error of [new Error('bug'), new TypeError('x is undefined'), 'a string', undefined]) {
      expect(classifyFailure(error)).toEqual({ source: 'internal', code: 'GENERATION_FAILED', retryable: true });
    }
  });

  it('a storage error names the store and what it said, for the logs', () => {
    const error = new StorageError('reply-stream', new Error('Command timed out'));
    expect(error.message).toBe('reply-stream failed: Command timed out');
    expect(error.cause).toBeInstanceOf(Error);
    expect(new StorageError('database', 'ECONNRESET').message).toBe('database failed: ECONNRESET');
  });
});

describe('the retry policy', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const retryable: Failure = { source: 'model', code: 'MODEL_UNAVAILABLE', retryable: true };
  const final: Failure = { source: 'model', code: 'PROMPT_BLOCKED', retryable: false };

  it('retries a retryable failure while attempts are left, and never after the last one', () => {
    const policy = createRetryPolicy({ maxAttempts: 4, baseDelayMs: 1_000 });
    expect([1, 2, 3, 4, 5].map((attempt) => policy.retries(retryable, attempt))).toEqual([true, true, true, false, false]);
    expect(policy.maxAttempts).toBe(4);
  });

  it('never retries a final failure, even on the first attempt', () => {
    const policy = createRetryPolicy({ maxAttempts: 4, baseDelayMs: 1_000 });
    expect([1, 2, 3].map((attempt) => policy.retries(final, attempt))).toEqual([false, false, false]);
  });

  it('with one attempt allowed, retries nothing', () => {
    expect(createRetryPolicy({ maxAttempts: 1, baseDelayMs: 1_000 }).retries(retryable, 1)).toBe(false);
  });

  it('doubles the pause each attempt: base·2^(n-1) at the top of its jitter, half that at the bottom', () => {
    const policy = createRetryPolicy({ maxAttempts: 6, baseDelayMs: 1_000 });
    vi.spyOn(Math, 'random').mockReturnValue(0);
    expect([1, 2, 3, 4].map((attempt) => policy.delayMs(attempt))).toEqual([500, 1_000, 2_000, 4_000]);
    vi.spyOn(Math, 'random').mockReturnValue(1 - Number.EPSILON);
    expect([1, 2, 3, 4].map((attempt) => policy.delayMs(attempt))).toEqual([1_000, 2_000, 4_000, 8_000]);
  });

  it('keeps every pause within [½, 1]·base·2^(n-1), whole milliseconds, whatever the jitter draws', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: 1, max: 12 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (baseDelayMs, attempt, draw) => {
          vi.spyOn(Math, 'random').mockReturnValue(draw);
          const delay = createRetryPolicy({ maxAttempts: 20, baseDelayMs }).delayMs(attempt);
          const ceiling = baseDelayMs * 2 ** (attempt - 1);
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(Math.round(ceiling / 2));
          expect(delay).toBeLessThanOrEqual(ceiling);
        },
      ),
      { seed: 20_260_115 },
    );
  });

  it('spreads the pauses of replies that failed together (jitter), instead of retrying them in lockstep', () => {
    const policy = createRetryPolicy({ maxAttempts: 4, baseDelayMs: 1_000 });
    const draws = [0.1, 0.4, 0.7, 0.95];
    const spy = vi.spyOn(Math, 'random');
    for (const draw of draws) spy.mockReturnValueOnce(draw);
    const delays = draws.map(() => policy.delayMs(2));
    expect(new Set(delays).size).toBe(draws.length);
  });
});
