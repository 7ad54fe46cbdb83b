import type { Redis } from 'ioredis';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config.js';
import type { Clock } from './infra/clock.js';
import { systemClock } from './infra/clock.js';
import { openDatabase, type Database, type DatabaseOptions } from './infra/db/client.js';
import { memoryRateLimitStore, redisRateLimitStore, type RateLimitStore } from './infra/rate-limit-store.js';
import { closeRedis, createRedis } from './infra/redis.js';
import { createMetrics, type Metrics } from './infra/metrics.js';
import { disabledCache, memoryCache, redisCache, type Cache } from './infra/cache.js';
import { createChatroomListCache } from './modules/chatrooms/chatroom-list-cache.js';
import { createChatroomService, type ChatroomService } from './modules/chatrooms/chatroom.service.js';
import { createBullmqQueue } from './infra/queue/bullmq-queue.js';
import type { GenerationQueue } from './infra/queue/generation-queue.js';
import { createInProcessQueue } from './infra/queue/in-process-queue.js';
import { memoryReplyStream, redisReplyStream, type ReplyStream } from './infra/reply-stream.js';
import { lazyGeminiModel } from './integrations/gemini/lazy-gemini-model.js';
import type { ChatModel } from './integrations/gemini/model.js';
import { createOfflineModel } from './integrations/gemini/offline-model.js';
import { allowancePolicy } from './modules/billing/allowance.js';
import { memoryStopSignals, redisStopSignals, type StopSignals } from './infra/stop-signals.js';
import { createGenerationJob } from './modules/generation/generation.job.js';
import { timedModel } from './modules/generation/timed-model.js';
import { startRecovery } from './modules/generation/recovery.js';
import { createReplyFollower, type ReplyFollower } from './modules/generation/reply-follower.js';
import { createRetryPolicy } from './modules/generation/retry-policy.js';
import { createScheduler } from './modules/generation/scheduling.js';
import { createReplyStopper, createRunningReplies } from './modules/generation/stopping.js';
import { createTitling } from './modules/generation/titles.js';
import { createMessageService, type MessageService } from './modules/messages/message.service.js';
import { createStreamSlots, type StreamSlots } from './modules/messages/stream-slots.js';
import { retentionPeriods, startRetention } from './modules/maintenance/retention.js';
import { randomBytes } from 'node:crypto';
import type { PaymentGateway } from './integrations/stripe/payment-gateway.js';
import { createSimulatedGateway, type SimulatedGateway } from './integrations/stripe/simulated-gateway.js';
import { createStripeGateway } from './integrations/stripe/stripe-gateway.js';
import { createWebhookVerifier } from './integrations/stripe/webhook-signature.js';
import { createSubscriptionService, type SubscriptionService } from './modules/billing/subscription.service.js';
import { createWebhookService, type WebhookService } from './modules/billing/webhook.service.js';
import { createAccessTokenCodec } from './modules/auth/access-token.js';
import { createAuthService, type AuthService } from './modules/auth/auth.service.js';
import { logOtpSender, responseOtpSender } from './modules/auth/otp-sender.js';
import { createOtpService } from './modules/auth/otp.service.js';
import { deriveAuthKeys, loadOrCreateDevSecret } from './modules/auth/secrets.js';
import { createSessionCache } from './modules/auth/session-cache.js';
import { createSessionService, type SessionService } from './modules/auth/session.service.js';
import { memoryBroadcast, redisBroadcast } from './infra/broadcast.js';
import { createRedisSubscriber } from './infra/redis-subscriber.js';

export interface Container {
  config: Config;
  log: FastifyBaseLogger;
  clock: Clock;
  database: Database;
  redis: Redis | undefined;
  rateLimitStore: RateLimitStore;
  auth: AuthService;
  sessions: SessionService;
  chatrooms: ChatroomService;
  messages: MessageService;
  /** Following a reply's events (SSE, waiting, stop). */
  follower: ReplyFollower;
  streamSlots: StreamSlots;
  subscriptions: SubscriptionService;
  webhooks: WebhookService;
  /** Stripe, or the simulator (with the secret it signs its events with). */
  payments: { gateway: PaymentGateway; simulator?: { gateway: SimulatedGateway; webhookSecret: string } };
  queue: GenerationQueue;
  stream: ReplyStream;
  stopSignals: StopSignals;
  model: ChatModel;
  metrics: Metrics;
  /** Consumes the generation queue and runs the recovery and retention sweeps (roles `all` and `worker`). */
  startWorker(): void;
  /**
   * Stops the worker: no new jobs; running generations get `graceMs` to finish, then their model
   * calls are aborted and their jobs handed back to the queue (no attempt counted).
   */
  stopWorker(graceMs: number): Promise<void>;
  close(): Promise<void>;
}

export interface ContainerOverrides {
  clock?: Clock;
  /** Defaults to DATABASE_URL, else PGlite in DATA_DIR. */
  database?: DatabaseOptions;
  /** An open database to use instead of opening one (tests reuse one per file); `close()` closes it as usual. */
  openedDatabase?: Database;
  redisKeyPrefix?: string;
  /** Defaults to Redis when REDIS_URL is set, else an in-process LRU. */
  cache?: Cache;
}

// A limiter that cannot count within this budget lets the request through (README, "Rate limits").
const RATE_LIMIT_STORE_TIMEOUT_MS = 500;
/** How often a quiet follower of a reply checks the database (a reply that vanished or ended unseen). */
const FOLLOWER_RECHECK_MS = 3_000;
/** How long a stop waits for the worker to end the reply before ending it itself. */
const STOP_WAIT_MS = 5_000;

export function databaseOptionsFrom(config: Config): DatabaseOptions {
  return config.DATABASE_URL
    ? {
        kind: 'postgres',
        url: config.DATABASE_URL,
        poolSize: config.DATABASE_POOL_SIZE,
        connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
        idleTimeoutMs: config.DATABASE_IDLE_TIMEOUT_MS,
        statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
      }
    : { kind: 'pglite', dataDir: config.DATA_DIR };
}

/** The composition root: picks the drivers the configuration asks for and wires the services. */
export async function createContainer(config: Config, log: FastifyBaseLogger, overrides: ContainerOverrides = {}): Promise<Container> {
  const clock = overrides.clock ?? systemClock;
  const database =
    overrides.openedDatabase ??
    (await openDatabase(overrides.database ?? databaseOptionsFrom(config), {
      migrate: config.MIGRATE_ON_START,
      onConnectionError: (error, message) => log.warn({ err: error }, message),
    }));
  log.info({ driver: database.kind }, 'database ready');
  const redisKeyPrefix = overrides.redisKeyPrefix ?? config.REDIS_KEY_PREFIX;
  const redis = config.REDIS_URL ? createRedis({ url: config.REDIS_URL, keyPrefix: redisKeyPrefix }) : undefined;
  redis?.on('error', (error) => log.warn({ err: error }, 'redis connection error'));

  if (config.OTP_SENDER === 'response' && config.NODE_ENV === 'production') {
    // Allowed only with ALLOW_OTP_IN_RESPONSE=true (config.ts); it must not go unnoticed in the logs.
    log.warn(
      'OTP_SENDER=response IN PRODUCTION: every login, sign-up and password-reset code is returned to whoever asks for it, ' +
        'so anyone who knows a mobile number can log in as its owner. Use it for demos only.',
    );
  }
  const keys = deriveAuthKeys(config.JWT_SECRET ?? loadOrCreateDevSecret(config.DATA_DIR, log));
  // One pub/sub connection per process, shared by the session broadcast and the stop signals.
  const subscriber = redis ? createRedisSubscriber(redis, log) : undefined;
  const broadcast = subscriber ? redisBroadcast(subscriber, log) : memoryBroadcast();
  const sessions = createSessionService({
    database,
    accessTokens: createAccessTokenCodec(keys.jwt, config.ACCESS_TOKEN_TTL_SECONDS),
    cache: createSessionCache({ broadcast, ttlMs: config.SESSION_CACHE_TTL_SECONDS * 1000, log }),
    refreshTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
    clock,
    log,
  });
  const auth = createAuthService({
    database,
    otp: createOtpService({ otpKey: keys.otp, clock }),
    otpSender: config.OTP_SENDER === 'log' ? logOtpSender(log) : responseOtpSender,
    sessions,
    clock,
  });

  const metrics = createMetrics();
  const model = config.GEMINI_API_KEY
    ? lazyGeminiModel({
        apiKey: config.GEMINI_API_KEY,
        model: config.GEMINI_MODEL,
        baseUrl: config.GEMINI_BASE_URL,
        timeoutMs: config.GEMINI_TIMEOUT_MS,
        systemInstruction: config.GEMINI_SYSTEM_INSTRUCTION,
        maxOutputTokens: config.GEMINI_MAX_OUTPUT_TOKENS,
      })
    : createOfflineModel();
  if (!config.GEMINI_API_KEY) log.warn('GEMINI_API_KEY is not set: replies come from the offline stand-in model');

  const retryPolicy = createRetryPolicy({ maxAttempts: config.GENERATION_MAX_ATTEMPTS, baseDelayMs: config.GENERATION_RETRY_BASE_MS });
  const queueOptions = {
    concurrency: config.GENERATION_CONCURRENCY,
    callsPerMinute: config.GEMINI_CALLS_PER_MINUTE,
    retry: retryPolicy,
    log,
  };
  const queue = config.REDIS_URL
    ? createBullmqQueue({ ...queueOptions, redisUrl: config.REDIS_URL, prefix: `${redisKeyPrefix}bull` })
    : createInProcessQueue(queueOptions);
  metrics.trackQueueDepth(() => queue.depth());
  const stream = redis ? redisReplyStream(redis, log) : memoryReplyStream();
  const stopSignals = subscriber ? redisStopSignals(subscriber, log) : memoryStopSignals();
  const policy = allowancePolicy({ basicDailyLimit: config.BASIC_DAILY_LIMIT, proDailyLimit: config.PRO_DAILY_LIMIT });
  const scheduler = createScheduler({ database, queue });
  const follower = createReplyFollower({ database, stream, log, recheckMs: FOLLOWER_RECHECK_MS });
  const stopper = createReplyStopper({ database, signals: stopSignals, stream, follower, scheduler, clock, log, waitMs: STOP_WAIT_MS });

  const chatrooms = createChatroomService({
    database,
    listCache: createChatroomListCache({
      cache: overrides.cache ?? (config.CHATROOM_CACHE_TTL_SECONDS === 0 ? disabledCache() : redis ? redisCache(redis) : memoryCache()),
      ttlSeconds: Math.max(1, config.CHATROOM_CACHE_TTL_SECONDS),
      timeoutMs: 250,
      log,
    }),
    clock,
    deletionListener: stopper,
  });

  const messages = createMessageService({
    database,
    chatrooms,
    scheduler,
    follower,
    stopper,
    policy,
    maxUnfinishedReplies: { basic: config.GENERATION_MAX_WAITING_BASIC, pro: config.GENERATION_MAX_WAITING_PRO },
    clock,
    log,
  });

  // Without Stripe keys the simulator stands in; it signs with the configured secret, or one of its own.
  const webhookSecret = config.STRIPE_WEBHOOK_SECRET ?? `whsec_simulated_${randomBytes(24).toString('hex')}`;
  const simulated = config.STRIPE_SECRET_KEY ? undefined : createSimulatedGateway(clock);
  const gateway: PaymentGateway =
    simulated ??
    createStripeGateway({
      secretKey: config.STRIPE_SECRET_KEY as string,
      priceId: config.STRIPE_PRICE_ID as string,
      apiBaseUrl: config.STRIPE_API_BASE_URL,
      maxNetworkRetries: config.STRIPE_MAX_NETWORK_RETRIES,
    });
  if (simulated) log.warn('STRIPE_SECRET_KEY is not set: payments use the simulated checkout');
  const subscriptions = createSubscriptionService({
    database,
    gateway,
    policy,
    clock,
    log,
    successUrl: config.CHECKOUT_SUCCESS_URL,
    cancelUrl: config.CHECKOUT_CANCEL_URL,
  });
  const webhooks = createWebhookService({
    database,
    gateway,
    verifier: createWebhookVerifier(webhookSecret, () => clock.now()),
    accounts: sessions,
    clock,
    log,
  });

  let stopWorker: ((graceMs: number) => Promise<void>) | undefined;
  const running = createRunningReplies({ signals: stopSignals, log });

  return {
    config,
    log,
    clock,
    database,
    redis,
    rateLimitStore: redis ? redisRateLimitStore(redis, RATE_LIMIT_STORE_TIMEOUT_MS) : memoryRateLimitStore(),
    auth,
    sessions,
    chatrooms,
    messages,
    follower,
    streamSlots: createStreamSlots(config.MAX_OPEN_STREAMS_PER_USER),
    subscriptions,
    webhooks,
    payments: { gateway, ...(simulated ? { simulator: { gateway: simulated, webhookSecret } } : {}) },
    queue,
    stream,
    stopSignals,
    model,
    metrics,
    startWorker() {
      if (stopWorker) return;
      void running.listen();
      model.warmUp?.().catch((error: unknown) => log.error({ err: error }, 'could not load the model client'));
      const titling = createTitling({ database, model, queue, chatrooms, log });
      const job = createGenerationJob({
        database,
        model: timedModel(model, metrics.modelCallDuration),
        stream,
        scheduler,
        running,
        policy: retryPolicy,
        clock,
        log,
        historyCharBudget: config.GENERATION_HISTORY_CHAR_BUDGET,
        metrics,
        ...(config.AUTO_TITLE ? { onReplyDone: titling.replyDone } : {}),
      });
      const consumer = queue.consume(titling.handler(job));
      const recovery = startRecovery({ database, scheduler, clock, log, intervalSeconds: config.GENERATION_RECOVERY_INTERVAL_SECONDS });
      const retention = startRetention({
        database,
        clock,
        log,
        periods: retentionPeriods(config.REFRESH_TOKEN_TTL_SECONDS),
        intervalSeconds: config.RETENTION_INTERVAL_SECONDS,
      });
      stopWorker = async (graceMs) => {
        retention.stop();
        recovery.stop();
        await consumer.close(graceMs);
      };
    },
    async stopWorker(graceMs) {
      const stop = stopWorker;
      stopWorker = undefined;
      await stop?.(graceMs);
    },
    async close() {
      const stop = stopWorker;
      stopWorker = undefined;
      // Half the shutdown grace for jobs: the HTTP server closes first within the same budget.
      await stop?.(Math.floor(config.SHUTDOWN_GRACE_MS / 2));
      await queue.close();
      await stream.close();
      await stopSignals.close();
      await broadcast.close();
      subscriber?.close();
      if (redis) await closeRedis(redis);
      await database.close();
    },
  };
}
