import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DependencyStates } from './dependency-checks.js';
import type { QueueDepth } from './queue/generation-queue.js';

/** The unfinished replies as the database holds them: how many in each state, and how long the oldest has waited. */
export interface UnfinishedReplies {
  pending: number;
  streaming: number;
  /** Seconds since the oldest unfinished reply was asked for; 0 when there is none. */
  oldestAgeSeconds: number;
}

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
  /** From a reply being asked for to its first attempt starting: what a user waits before the first token. */
  readonly queueWait: Histogram;
  /**
   * Ratings of replies by model and rating: each rating given (a new one, or one changed to the
   * other); re-sending the same rating (a new comment) counts nothing.
   */
  readonly feedbackGiven: Counter<'model' | 'rating'>;
  /** Ratings taken back (changed to the other, or deleted), under the model and rating they were given with: given − withdrawn = standing. */
  readonly feedbackWithdrawn: Counter<'model' | 'rating'>;
  /** Reports the queue's depth by state each time /metrics is scraped. */
  trackQueueDepth(read: () => Promise<QueueDepth>): void;
  /** Reports whether each dependency answers (`dependency_up`) each time /metrics is scraped. */
  trackDependencies(read: () => Promise<DependencyStates>): void;
  /** Reports the unfinished replies (`replies_unfinished`, `replies_oldest_unfinished_age_seconds`) each time /metrics is scraped. */
  trackUnfinishedReplies(read: () => Promise<UnfinishedReplies>): void;
}

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
// A reply can wait minutes behind a busy model budget or its chatroom's earlier replies.
const WAIT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let readQueueDepth: (() => Promise<QueueDepth>) | undefined;
  let readDependencies: (() => Promise<DependencyStates>) | undefined;
  let readUnfinishedReplies: (() => Promise<UnfinishedReplies>) | undefined;

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

  new Gauge({
    name: 'dependency_up',
    help: 'Whether a dependency answered its readiness probe at this scrape (1) or not (0); absent when not configured',
    labelNames: ['dependency'],
    registers: [registry],
    async collect() {
      if (!readDependencies) return;
      const states = await readDependencies();
      for (const [dependency, state] of Object.entries(states)) {
        if (state === 'not configured') this.remove({ dependency });
        else this.set({ dependency }, state === 'ok' ? 1 : 0);
      }
    },
  });

  /*
   * The two reply gauges come from one query per scrape: a scrape collects every metric at once, so
   * the second collect finds the first's read still running and shares it. A failed read (the
   * database is down: dependency_up says so) reports no counts and an age of NaN rather than repeat stale values.
   */
  let unfinishedRead: Promise<UnfinishedReplies | undefined> | undefined;
  const readUnfinishedOnce = () =>
    (unfinishedRead ??= (readUnfinishedReplies?.() ?? Promise.resolve(undefined))
      .catch(() => undefined)
      .finally(() => (unfinishedRead = undefined)));
  new Gauge({
    name: 'replies_unfinished',
    help: 'Replies not finished yet, by status (pending: waiting for a worker; streaming: being generated)',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      if (!readUnfinishedReplies) return;
      const unfinished = await readUnfinishedOnce();
      if (!unfinished) return this.reset();
      this.set({ status: 'pending' }, unfinished.pending);
      this.set({ status: 'streaming' }, unfinished.streaming);
    },
  });
  new Gauge({
    name: 'replies_oldest_unfinished_age_seconds',
    help: 'Seconds since the oldest unfinished reply was asked for (0 when none is unfinished, NaN when the database cannot be read)',
    registers: [registry],
    async collect() {
      if (!readUnfinishedReplies) return;
      const unfinished = await readUnfinishedOnce();
      // A gauge without labels cannot drop out of a scrape: NaN says "unknown", and compares false in every rule.
      this.set(unfinished ? unfinished.oldestAgeSeconds : NaN);
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
    queueWait: new Histogram({
      name: 'generation_queue_wait_seconds',
      help: "From a reply being asked for to its first generation attempt starting (queue, model budget, the chatroom's earlier replies)",
      buckets: WAIT_BUCKETS,
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
    trackDependencies(read) {
      readDependencies = read;
    },
    trackUnfinishedReplies(read) {
      readUnfinishedReplies = read;
    },
  };
}
