import type { ReplyStream } from '../../src/infra/reply-stream.js';
import { createGenerationJob } from '../../src/modules/generation/generation.job.js';
import { createRetryPolicy } from '../../src/modules/generation/retry-policy.js';
import { createScheduler } from '../../src/modules/generation/scheduling.js';
import { createRunningReplies } from '../../src/modules/replies/running-replies.js';
import type { TestApp } from './app.js';

/** The generation job wired to a test app's drivers, to run it by hand (optionally on another reply stream). */
export function jobOf(t: TestApp, overrides: { stream?: Pick<ReplyStream, 'append'>; maxAttempts?: number } = {}) {
  const { database, model, stream, stopSignals, queue, clock, log, metrics } = t.container;
  return createGenerationJob({
    database,
    model,
    stream: overrides.stream ?? stream,
    scheduler: createScheduler({ database, queue }),
    running: createRunningReplies({ signals: stopSignals, log }),
    policy: createRetryPolicy({ maxAttempts: overrides.maxAttempts ?? 1, baseDelayMs: 5 }),
    clock,
    log,
    historyCharBudget: 10_000,
    metrics,
  });
}
