import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { QueueDepth } from './queue/generation-queue.js';

/**
 * The Prometheus metrics of one process. A registry of its own (not prom-client's global one), so
 * that several containers in one process (tests) never collide.
 */
export interface Metrics {
  readonly registry: Registry;
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  /** One generation attempt, from pick-up to its end; outcome = done | stopped | retrying | failed, code = the failure's. */
  readonly generationDuration: Histogram<'outcome' | 'code'>;
  /** One model call; outcome = ok | the model error code. */
  readonly modelCallDuration: Histogram<'outcome'>;
  readonly webhookEvents: Counter<'type' | 'outcome'>;
  /** Tokens of stored replies by model and kind (prompt, output, thoughts, cached): what Gemini bills. */
  readonly modelTokens: Counter<'model' | 'kind'>;
  /**
   * Ratings of replies by model and rating: each rating given (a new one, or one changed to the
   * other); re-sending the same rating (a new comment) counts nothing.
   */
  readonly feedbackGiven: Counter<'model' | 'rating'>;
  /** Ratings taken back (changed to the other, or deleted), under the model and rating they were given with: given − withdrawn = standing. */
  readonly feedbackWithdrawn: Counter<'model' | 'rating'>;
  /** Reports the queue's depth by state each time /metrics is scraped. */
  trackQueueDepth(read: () => Promise<QueueDepth>): void;
}

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let readQueueDepth: (() => Promise<QueueDepth>) | undefined;

  new Gauge({
    name: 'generation_queue_jobs',
    help: 'Generation jobs in the queue by state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      if (!readQueueDepth) return;
      try {
        const depth: QueueDepth = await readQueueDepth();
        for (const state of ['waiting', 'active', 'delayed'] as const) this.set({ state }, depth[state]);
      } catch {
        // The queue's backend is down: /readyz says so; a scrape still answers with the other metrics.
      }
    },
  });

  return {
    registry,
    httpRequestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP requests by route template and status',
      labelNames: ['method', 'route', 'status'],
      buckets: SECONDS_BUCKETS,
      registers: [registry],
    }),
    generationDuration: new Histogram({
      name: 'generation_duration_seconds',
      help: 'Generation attempts, from pick-up to outcome',
      labelNames: ['outcome', 'code'],
      buckets: SECONDS_BUCKETS,
      registers: [registry],
    }),
    modelCallDuration: new Histogram({
      name: 'model_call_duration_seconds',
      help: 'Model calls, from request to the last streamed chunk',
      labelNames: ['outcome'],
      buckets: SECONDS_BUCKETS,
      registers: [registry],
    }),
    webhookEvents: new Counter({
      name: 'stripe_webhook_events_total',
      help: 'Stripe webhook deliveries by event type and outcome',
      labelNames: ['type', 'outcome'],
      registers: [registry],
    }),
    modelTokens: new Counter({
      name: 'gemini_tokens_total',
      help: 'Tokens of stored replies by model and kind (prompt, output, thoughts, cached)',
      labelNames: ['model', 'kind'],
      registers: [registry],
    }),
    feedbackGiven: new Counter({
      name: 'reply_feedback_given_total',
      help: 'Ratings of replies given (new, or changed to the other rating) by model and rating',
      labelNames: ['model', 'rating'],
      registers: [registry],
    }),
    feedbackWithdrawn: new Counter({
      name: 'reply_feedback_withdrawn_total',
      help: 'Ratings of replies taken back (changed or deleted) by the model and rating they were given with',
      labelNames: ['model', 'rating'],
      registers: [registry],
    }),
    trackQueueDepth(read) {
      readQueueDepth = read;
    },
  };
}
